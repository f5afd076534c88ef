package dev.peft4j.distillation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;

/**
 * The distillation losses as plain tensor functions, each checked against PyTorch's own on fixed
 * tensors ({@code tools/distillation/make_loss_fixtures.py}). No {@code NDArray.op(Number)} touches a
 * tensor in the graph (DJL frees the scalar's buffer while autograd still holds it): constants are
 * {@link ForwardContext#scalar}s; Java-number arithmetic is done only on masks, which carry no gradient.
 * Teacher tensors are detached ({@code stopGradient}): the teacher is a target, never trained.
 */
public final class DistillationLosses {
    private DistillationLosses() {}

    /**
     * Soft-target KL (Hinton et al.; DistilBERT's {@code loss_ce}):
     * {@code kl_div(log_softmax(s / T), softmax(t / T), reduction="batchmean") * T^2}, i.e. the sum over
     * rows of {@code KL(teacher_T || student_T)} divided by the number of rows, times {@code T^2} so
     * that the gradient's scale does not shrink with {@code T}.
     *
     * @param student logits {@code [batch, classes]}
     * @param teacher logits {@code [batch, classes]}
     */
    public static NDArray softTargetKl(NDArray student, NDArray teacher, float temperature, ForwardContext context) {
        Shape s = student.getShape();
        if (s.dimension() != 2 || !s.equals(teacher.getShape())) {
            throw new Peft4jException("soft-target KL: student logits " + s + " and teacher logits " + teacher.getShape()
                    + " must both be [batch, classes]; use token-kl for per-token logits");
        }
        NDArray perRow = klPerRow(student, teacher, temperature, context);                    // [batch]
        return perRow.sum().mul(context.scalar(temperature * temperature / s.get(0)));
    }

    /**
     * Token-level KL for causal LMs (or token classifiers): {@code KL(teacher_T || student_T)} at each
     * position whose label is not -100, averaged over those positions, times {@code T^2}. With
     * {@code shift}, the logits at position {@code t} predict {@code labels[t + 1]} (HF's causal-LM
     * convention), so position {@code t} counts when {@code labels[t + 1] != -100}. Equals
     * {@code kl_div(log_softmax(s_valid / T), softmax(t_valid / T), reduction="batchmean") * T^2} on the
     * counted rows; 0 when none is counted.
     *
     * @param student logits {@code [batch, seq, vocab]}
     * @param teacher logits {@code [batch, seq, vocab]}
     * @param labels int64 {@code [batch, seq]}, -100 where ignored
     */
    public static NDArray tokenKl(NDArray student, NDArray teacher, NDArray labels, float temperature, boolean shift,
            ForwardContext context) {
        Shape s = student.getShape();
        Shape l = labels.getShape();
        if (s.dimension() != 3 || !s.equals(teacher.getShape()) || l.dimension() != 2 || l.get(0) != s.get(0) || l.get(1) != s.get(1)) {
            throw new Peft4jException("token-level KL: student logits " + s + ", teacher logits " + teacher.getShape() + " and labels " + l
                    + " do not match; expected [batch, seq, vocab] twice (the same vocabulary) and [batch, seq]");
        }
        NDArray st = shift ? student.get(":, :-1, :") : student;
        NDArray tt = shift ? teacher.get(":, :-1, :") : teacher;
        NDArray target = labels.toType(DataType.INT64, false);
        NDArray valid = (shift ? target.get(":, 1:") : target).gte(0L).toType(DataType.FLOAT32, false); // [B, T'] no grad
        NDArray perPosition = klPerRow(st, tt, temperature, context);                                  // [B, T']
        NDArray count = valid.sum().maximum(context.scalar(1f));
        return perPosition.mul(valid).sum().div(count).mul(context.scalar(temperature * temperature));
    }

    /** {@code sum_c p_t * (log p_t - log p_s)} over the last axis, at temperature T. */
    private static NDArray klPerRow(NDArray student, NDArray teacher, float temperature, ForwardContext context) {
        NDArray inverse = context.scalar(1f / temperature);
        NDArray logStudent = student.mul(inverse).logSoftmax(-1);
        NDArray logTeacher = teacher.stopGradient().mul(inverse).logSoftmax(-1);
        // p_t * (log p_t - log p_s): log p_t from log_softmax is finite even where p_t underflows to 0,
        // so such a class contributes 0, as torch's xlogy-based kl_div does
        return logTeacher.exp().mul(logTeacher.sub(logStudent)).sum(new int[] {-1});
    }

    /**
     * Mean squared error between hidden states over the real tokens: {@code mse_loss(s[mask], t[mask])}
     * ({@code mask} the attention mask), i.e. the mean over real tokens and hidden units.
     *
     * @param student {@code [batch, seq, hidden]}
     * @param teacher {@code [batch, seq, hidden]}
     * @param attentionMask int64 {@code [batch, seq]}, 1 for real tokens
     */
    public static NDArray maskedMse(NDArray student, NDArray teacher, NDArray attentionMask, ForwardContext context) {
        checkHidden("mse", student, teacher, attentionMask);
        NDArray mask = attentionMask.toType(DataType.FLOAT32, false).expandDims(-1);              // [B, T, 1]
        NDArray diff = student.sub(teacher.stopGradient());
        float hidden = student.getShape().get(2);
        NDArray count = mask.sum().mul(hidden).maximum(context.scalar(1f));                     // no grad
        return diff.mul(diff).mul(mask).sum().div(count);
    }

    /**
     * Cosine loss between hidden states over the real tokens, DistilBERT's {@code cosine_loss}:
     * {@code cosine_embedding_loss(s[mask], t[mask], ones)}, i.e. the mean over real tokens of
     * {@code 1 - cos(s, t)}, with torch's {@code cos = s.t / sqrt((|s|^2 + 1e-12) (|t|^2 + 1e-12))}.
     */
    public static NDArray maskedCosine(NDArray student, NDArray teacher, NDArray attentionMask, ForwardContext context) {
        checkHidden("cosine", student, teacher, attentionMask);
        NDArray mask = attentionMask.toType(DataType.FLOAT32, false);                           // [B, T]
        NDArray t = teacher.stopGradient();
        NDArray eps = context.scalar(1e-12f);
        NDArray dot = student.mul(t).sum(new int[] {-1});
        NDArray norms = student.mul(student).sum(new int[] {-1}).add(eps).mul(t.mul(t).sum(new int[] {-1}).add(eps)).sqrt();
        NDArray oneMinusCos = context.scalar(1f).sub(dot.div(norms));                             // [B, T]
        NDArray count = mask.sum().maximum(context.scalar(1f));
        return oneMinusCos.mul(mask).sum().div(count);
    }

    private static void checkHidden(String what, NDArray student, NDArray teacher, NDArray mask) {
        Shape s = student.getShape();
        if (s.dimension() != 3 || !s.equals(teacher.getShape()) || !mask.getShape().equals(new Shape(s.get(0), s.get(1)))) {
            throw new Peft4jException("hidden-state " + what + " loss: student " + s + ", teacher " + teacher.getShape() + " and mask "
                    + mask.getShape() + " do not match; expected [batch, seq, hidden] twice and [batch, seq]"
                    + " (different hidden sizes need projection = auto or always; different sequence lengths need the same tokenizer)");
        }
    }

    /**
     * Attention transfer, MiniLM's KL: for each head and real query, {@code KL(t || s)} between the teacher's
     * and the student's attention distributions over the keys, {@code sum_k t log(t / s)} (probabilities
     * clamped at 1e-12 inside the logs, so masked keys, where both are 0, add 0); the mean over heads and
     * real queries. Different head counts compare the head-averaged maps.
     *
     * @param student {@code [batch, heads, seq, seq]} attention probabilities
     * @param teacher {@code [batch, heads', seq, seq]}
     * @param attentionMask int64 {@code [batch, seq]}, 1 for real tokens
     */
    public static NDArray attentionKl(NDArray student, NDArray teacher, NDArray attentionMask, ForwardContext context) {
        NDArray[] st = alignHeads("kl", student, teacher.stopGradient(), attentionMask);
        NDArray eps = context.scalar(1e-12f);
        NDArray logS = st[0].maximum(eps).log();
        NDArray logT = st[1].maximum(eps).log();
        NDArray perQuery = st[1].mul(logT.sub(logS)).sum(new int[] {-1});                          // [B, H, T]
        NDArray queries = attentionMask.toType(DataType.FLOAT32, false).expandDims(1);              // [B, 1, T]
        float heads = st[0].getShape().get(1);
        NDArray count = queries.sum().mul(heads).maximum(context.scalar(1f));                       // no grad
        return perQuery.mul(queries).sum().div(count);
    }

    /**
     * Attention transfer, TinyBERT's MSE: the squared difference of the attention probabilities, the mean
     * over heads and (real query, real key) pairs. Different head counts compare the head-averaged maps.
     */
    public static NDArray attentionMse(NDArray student, NDArray teacher, NDArray attentionMask, ForwardContext context) {
        NDArray[] st = alignHeads("mse", student, teacher.stopGradient(), attentionMask);
        NDArray m = attentionMask.toType(DataType.FLOAT32, false);                                  // [B, T]
        NDArray pairs = m.expandDims(1).expandDims(-1).mul(m.expandDims(1).expandDims(1));          // [B, 1, T, T]
        NDArray diff = st[0].sub(st[1]);
        float heads = st[0].getShape().get(1);
        NDArray count = pairs.sum().mul(heads).maximum(context.scalar(1f));
        return diff.mul(diff).mul(pairs).sum().div(count);
    }

    private static NDArray[] alignHeads(String what, NDArray student, NDArray teacher, NDArray mask) {
        Shape s = student.getShape();
        Shape t = teacher.getShape();
        Shape m = mask.getShape();
        if (s.dimension() != 4 || t.dimension() != 4 || s.get(0) != t.get(0) || s.get(2) != t.get(2) || s.get(3) != t.get(3)
                || s.get(2) != s.get(3) || !m.equals(new Shape(s.get(0), s.get(2)))) {
            throw new Peft4jException("attention " + what + " loss: student maps " + s + ", teacher maps " + t + " and mask " + m
                    + " do not match; expected [batch, heads, seq, seq] twice and [batch, seq] (virtual tokens of prefix or prompt tuning,"
                    + " or another tokenizer, change the positions)");
        }
        if (s.get(1) == t.get(1)) {
            return new NDArray[] {student, teacher};
        }
        return new NDArray[] {student.mean(new int[] {1}, true), teacher.mean(new int[] {1}, true)};
    }
}
