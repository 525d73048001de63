"""Analysis of gathered studies: the finite-size scaling."""
