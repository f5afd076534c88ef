#!/usr/bin/env python
"""Checks LN_TUNING adapters written by peft4j in HF PEFT (run with /work/pyenv/bin/python; never needed by CI).

  check_java_adapter.py [ADAPTERS_DIR]     (default: adapters/target/java-ln-tuning-adapters)

PeftLayerNormTuningInteropTest.writesAdaptersForThePeftCheck leaves ADAPTERS_DIR/java-*-ln-tuning, written by peft4j's LayerNormTuningModel.save;
tools/peft_check.py loads each in PEFT and compares the state dict and the outputs with peft4j's. Exit status 1 if any
max |diff| > 1e-4.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from peft_check import check_java_adapters  # noqa: E402

if __name__ == "__main__":
    check_java_adapters(os.path.join(HERE, "..", "..", "adapters", "src", "test", "resources", "ln-tuning-fixtures"),
                        sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "adapters", "target", "java-ln-tuning-adapters"))
