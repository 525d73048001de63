"""Physics core: the model (MODEL.md), bases and symmetry sectors of operator space, local
observables, and the registry of methods' options. numpy/scipy only; imports nothing above it."""
