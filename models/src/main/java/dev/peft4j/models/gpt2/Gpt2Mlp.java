package dev.peft4j.models.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/** GPT-2 feed-forward ({@code mlp}): {@code dropout(c_proj(gelu_new(c_fc(x))))}, both Conv1D. {@code [B, T, D] -> [B, T, D]}. */
public final class Gpt2Mlp extends Module {
    Gpt2Mlp(Gpt2Config c, NDManager manager) {
        super(ModuleType.MLP);
        addChild("c_fc", new Linear(manager, c.nEmbd(), c.innerSize(), true, true));
        addChild("c_proj", new Linear(manager, c.innerSize(), c.nEmbd(), true, true));
        addChild("dropout", new Dropout(c.residPdrop()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        NDArray projected = child("c_proj").forward(geluNew(child("c_fc").forward(x, context), context), context);
        return child("dropout").forward(projected, context);
    }

    /**
     * {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}, with torch-owned scalars (no Java
     * scalar operands in the differentiated graph).
     */
    static NDArray geluNew(NDArray x, ForwardContext context) {
        NDArray cube = x.mul(x).mul(x);
        NDArray inner = x.add(cube.mul(context.scalar(0.044715f))).mul(context.scalar((float) Math.sqrt(2.0 / Math.PI)));
        return x.mul(context.scalar(0.5f)).mul(inner.tanh().add(context.scalar(1f)));
    }
}
