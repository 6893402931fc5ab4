"""params.yaml read and validated: the YAML file's own checks (yamlfile) and the sections built
as typed objects from the hyperparameters their classes declare (schema). Each stage's code
declares the sections it reads; this package knows none of them."""
