"""Where MNIST comes from (the fetch stage's code): the SOURCES registry that ``data.source``
names, and the ``data`` section of params.yaml."""
