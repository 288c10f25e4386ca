"""Local helpers around the SageMaker model handler: model directory, in-process server, packaging, Neuron compile.

The handler itself is `sagemaker_model/code/inference.py`, a standalone script the toolkit imports by path.
"""
