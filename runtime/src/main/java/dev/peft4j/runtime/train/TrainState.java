package dev.peft4j.runtime.train;

/**
 * Where a run is, saved with each checkpoint so that resuming is exact: the next batch is batch
 * {@code batchInEpoch} of epoch {@code epoch} (the epoch's order depends only on the seed and the
 * epoch), dropout is reseeded per micro-batch from the seed, and the optimizer's moments and step
 * count come back with the weights.
 */
public record TrainState(long step, int epoch, int batchInEpoch, double bestValue, long bestStep, int evalsWithoutImprovement,
        double elapsedSeconds, long examplesSeen, double windowLoss, int windowCount) {
    static TrainState start(boolean lowerIsBetter) {
        return new TrainState(0, 0, 0, lowerIsBetter ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY, -1, 0, 0, 0, 0, 0);
    }
}
