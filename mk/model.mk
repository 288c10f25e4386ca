# Model handler targets (sagemaker_model/). MODEL_FILE=path ships another TorchScript/Neuron model.pt;
# MODEL_S3_URI=s3://bucket/prefix uploads the archive and prints the URI for `sam deploy`.
MODEL_FILE ?=
NEURON_MODEL_FILE ?=
MODEL_S3_URI ?=
MODEL_PORT ?= 8080

.PHONY: model serve-model bench-model compile-neuron test-model model-check-py310
model: setup ## build + verify build/model.tar.gz (NEURON_MODEL_FILE=... adds the inf1 trace; MODEL_S3_URI=s3://... uploads)
	$(BIN)/python -m sagemaker_model.package $(if $(MODEL_FILE),--model-file $(MODEL_FILE)) $(if $(NEURON_MODEL_FILE),--neuron-model-file $(NEURON_MODEL_FILE)) $(if $(MODEL_S3_URI),--s3-uri $(MODEL_S3_URI))

serve-model: setup ## serve GET /ping, POST /invocations on http://127.0.0.1:8080 (MODEL_PORT) with the real handler
	$(BIN)/python -m sagemaker_model.http_server --host 127.0.0.1 --port $(MODEL_PORT) $(if $(MODEL_FILE),--model-file $(MODEL_FILE))

bench-model: setup ## model load, first vs steady latency, handler overhead, peak RSS
	$(BIN)/python scripts/bench_model.py

compile-neuron: setup ## trace MODEL_FILE for Inferentia (needs torch-neuron: inf1 host or Neuron DLC)
	$(BIN)/python -m sagemaker_model.compile_neuron $(MODEL_FILE) --output build/neuron/model.pt

test-model: setup ## the model handler tests only
	$(BIN)/pytest tests/model

model-check-py310: model ## run the archive's handler in a py3.10 venv with only the DLC's numpy 1.24 / scipy 1.10 and decode audio there
	$(BIN)/python -m sagemaker_model.check_py310
