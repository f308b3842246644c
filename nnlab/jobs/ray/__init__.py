"""The Ray executor: the only package of nnlab that imports Ray."""
