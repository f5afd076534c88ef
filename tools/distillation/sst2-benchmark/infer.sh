#!/usr/bin/env bash
# inference cost of teacher and students, interleaved: eval --timing 3 on the SST-2 dev set (872 sentences, batch 64),
# one PyTorch thread; prints wall examples/s and examples per CPU-second (the latter robust to a busy machine)
cd /work/bench
for round in 1 2; do
  for run in "$@"; do
    line=$(java -Xmx4g -XX:MaxDirectMemorySize=4g -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 \
      -jar /tmp/evaljar/peft4j-cli-0.1.0-SNAPSHOT.jar eval runs/$run peft4j.data=../shared/data --timing 3 2>&1 >/dev/null | grep "^inference:")
    echo "$(date -u +%T) round $round $run $line"
  done
done
