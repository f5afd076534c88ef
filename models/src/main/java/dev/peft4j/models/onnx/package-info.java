/**
 * Importing ONNX-exported encoders: a minimal, bounds-checked protobuf reader for ONNX
 * {@code ModelProto} ({@link dev.peft4j.models.onnx.OnnxModel}, no protobuf dependency), and
 * {@link dev.peft4j.models.onnx.OnnxBertImporter}, which rebuilds a HuggingFace {@code BertModel}
 * state dict and {@code config.json} from a BERT-family inference graph.
 *
 * <p>Why the number of attention heads comes from the graph and not from an assumption: every
 * layer's query projection is reshaped to {@code [batch, seq, heads, head_dim]} with a Concat of two
 * dynamic sizes and two constants. In the three langchain4j exports (all-MiniLM-L6-v2,
 * bge-small-en-v1.5, e5-small-v2) those constants are 12 and 32 in every layer (12 x 32 = 384, the
 * published configs' values, and the attention scale constant is sqrt(32) = 5.657); the tiny test
 * export uses 4 x 8 and is imported as 4 heads, which an assumed head size of 32 would get wrong.
 */
package dev.peft4j.models.onnx;
