"""The reference MLP as a TensorFlow SavedModel for TF-Serving: same weights, same math.

NOT RUN where benchctl is developed and tested: it needs TensorFlow, which is not installed
there (about 1.6 GB, and not a benchctl dependency). It runs in the builder stage of
docker/servers/tfserving.Dockerfile (tensorflow-cpu), or anywhere TensorFlow is installed:

    python docker/servers/make_savedmodel.py OUT [--version 1] [--repeat 40] [--no-check]

It writes ``OUT/<version>/`` (saved_model.pb + variables/), the layout TF-Serving's
``--model_base_path`` and KServe's tensorflow runtime expect. The weights are those of
``benchctl.targets.refmodel.RefModel`` for the same settings (same seed: same numbers), so
every server in docker/compose.yaml answers the same request with the same probabilities.

Signature ``serving_default``: input ``input-0`` float32 [batch, input_dim] -> output
``output-0`` float32 [batch, output_dim] (softmax). ``repeat`` runs the forward pass that many
times in a tf.while_loop (the compute-cost knob, as in RefModel.predict). Unless
``--no-check``, the SavedModel is loaded back and compared with RefModel.predict on random
rows (max abs difference 1e-5), so a build never ships a model that answers differently.

refmodel.py is imported from benchctl if installed, else loaded by path from the source tree
this script sits in (``--refmodel`` overrides): it needs only numpy.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SOURCE_REFMODEL = Path(__file__).resolve().parents[2] / "src/benchctl/targets/refmodel.py"


def load_refmodel(path: Path | None = None) -> ModuleType:
    if path is None:
        try:
            from benchctl.targets import refmodel

            return refmodel
        except ImportError:
            path = SOURCE_REFMODEL
    spec = importlib.util.spec_from_file_location("benchctl_refmodel", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def build_module(refmodel: ModuleType, cfg: Any) -> Any:
    """A tf.Module with the RefModel's weights and a ``serve`` signature."""
    import tensorflow as tf  # only here: the rest of the file imports without TensorFlow

    ref = refmodel.RefModel(cfg)

    class ReferenceMlp(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="benchctl_reference_mlp")
            self.weights = [tf.constant(w) for w in ref.weights]
            self.biases = [tf.constant(b) for b in ref.biases]
            self.repeat = tf.constant(cfg.repeat, dtype=tf.int32)

        def forward(self, x: Any) -> Any:
            h = x
            last = len(self.weights) - 1
            for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                h = tf.matmul(h, w) + b
                if i < last:
                    h = tf.nn.relu(h)
            return tf.nn.softmax(h, axis=1)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, cfg.input_dim], tf.float32, name=refmodel.INPUT_NAME)
            ]
        )
        def serve(self, x: Any) -> dict[str, Any]:
            out = self.forward(x)
            for _ in tf.range(self.repeat - 1):  # a while loop: not folded into one pass
                out = self.forward(x)
            return {refmodel.OUTPUT_NAME: out}

    return ReferenceMlp()


def save(out: Path, version: int, module: Any) -> Path:
    import tensorflow as tf

    path = out / str(version)
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def check(path: Path, refmodel: ModuleType, cfg: Any, rows: int = 16) -> float:
    """Max abs difference between the SavedModel's answer and RefModel.predict."""
    import numpy as np
    import tensorflow as tf

    x = np.random.default_rng(1).standard_normal((rows, cfg.input_dim)).astype(np.float32)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    got = serve(**{refmodel.INPUT_NAME: tf.constant(x)})[refmodel.OUTPUT_NAME].numpy()
    return float(np.max(np.abs(got - refmodel.RefModel(cfg).predict(x))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="model base path; writes OUT/<version>/")
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--refmodel", type=Path, help="path of refmodel.py (default: benchctl's)")
    parser.add_argument("--no-check", action="store_true")
    own = load_refmodel(None)  # benchctl's: its flags; the chosen file builds the model
    own.add_config_arguments(parser)
    args = parser.parse_args(argv)
    refmodel = load_refmodel(args.refmodel)
    cfg = refmodel.RefModelConfig(**vars(own.config_from_arguments(args)))
    path = save(args.out, args.version, build_module(refmodel, cfg))
    print(f"wrote {path}")
    if not args.no_check:
        diff = check(path, refmodel, cfg)
        if diff > 1e-5:
            raise SystemExit(f"SavedModel differs from RefModel.predict by {diff:g} (> 1e-5)")
        print(f"checked against RefModel.predict: max abs difference {diff:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
