"""Import a model archcost did not write: a torch ``nn.Module`` (torch.fx) or an ONNX graph.

Each importer turns the model into a list of :class:`~archcost.importers.ir.Op` in execution
order (archcost primitives with their fields, inputs, per-sample output shapes, the module
path and source line they came from); :mod:`.writer` turns that list into a spec for people
to read, one block definition per repeated module structure. torch and onnx are imported
only here, never on the static path.
"""
