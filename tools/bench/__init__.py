"""scratchnet measured against PyTorch: the speed benchmark (`make bench`), the step profile
(`make profile`) and the training comparison (`make compare`), with the PyTorch side they share."""
