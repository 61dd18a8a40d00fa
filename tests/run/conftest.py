import pytest

TINY = """
run:
  output_dir: {out}
  seed: 3
data:
  name: synthetic_faces
  image_size: 16
  num_train: {num_train}
  num_val: 4
  num_test: 4
model:
  preset: small
loss:
  lam_perc: 0.0
loocc:
  variant: {variant}
trainer:
  num_epochs: {epochs}
  batch_size: {batch}
  lr: 1.0e-3
  checkpoint_every: 1
  keep_checkpoints: 2
  log_freq: 1
  tensorboard: {tensorboard}
"""


@pytest.fixture
def tiny_config(tmp_path):
    def make(
        name="cfg.yaml", out=None, num_train=8, variant="LV", epochs=1, batch=4, tensorboard="false"
    ):
        out = out or tmp_path / "run"
        path = tmp_path / name
        path.write_text(
            TINY.format(
                out=out,
                num_train=num_train,
                variant=variant,
                epochs=epochs,
                batch=batch,
                tensorboard=tensorboard,
            )
        )
        return path, out

    return make
