"""The networks, shared by both branches (torch; layer-name tables are torch-free).

- :mod:`~cnntopo.nets.datasets`, :mod:`~cnntopo.nets.transforms`: CIFAR-10, Fashion-MNIST,
  digits, image folders; normalisation and training augmentation.
- :mod:`~cnntopo.nets.models`: the PH network (CIFAR ResNet-18, option-A shortcuts) and the
  architecture registry; :mod:`~cnntopo.nets.resnet_option_b`: the Mapper network.
- :mod:`~cnntopo.nets.layers`, :mod:`~cnntopo.nets.layers_option_b`: layer names and shapes.
- :mod:`~cnntopo.nets.training`, :mod:`~cnntopo.nets.devices`: the training recipes, devices.
- :mod:`~cnntopo.nets.activations`: streamed capture of layer outputs into shards.
"""
