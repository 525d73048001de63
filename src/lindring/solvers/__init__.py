"""Solvers: exact diagonalisation of the Liouvillian (PETSc/SLEPc: ``methods``, ``steady``,
``liouvillian``), the cluster mean field, the ground state and the MPO steady state. Import the
physics core only."""
