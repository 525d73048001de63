# lindring: `make run` (default study) and `make test` each do all the set-up they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := python3-petsc4py-64-complex python3-slepc4py-64-complex python3-mpi4py \
                python3-venv openmpi-bin libopenblas0-serial
# OpenMPI refuses to run as root without these (our CI and sandboxes run as root)
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
# one BLAS/OpenMP thread per MPI rank
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1

.PHONY: setup run run-slurm report test test-slurm clean schema
setup: $(VENV)/.installed

$(VENV)/.apt:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $@

$(VENV)/.installed: $(VENV)/.apt pyproject.toml
	@test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check "numpy<2" -e ".[workflow,test]"
	@$(PY) -c "from lindring.solvers.petsc import init; init()" 
	@touch $@

run: setup
	$(VENV)/bin/snakemake --profile profiles/local

# The paper's Figs. 2-7 (config/paper.yaml: ~760 jobs, about an hour on 2 cores) and report.html.
# First runs whatever is missing (nothing once the study is complete; a failed job stops here,
# since a figure needs every point of its studies gathered), then bundles the figures, their
# captions and the table of extrapolated currents into report.html.
report: setup
	$(VENV)/bin/snakemake --profile profiles/local --configfile config/paper.yaml
	$(VENV)/bin/snakemake --profile profiles/local --configfile config/paper.yaml --report report.html

# the studies of config/config.yaml on Slurm (see cluster/config.yaml)
run-slurm: setup
	$(VENV)/bin/snakemake --profile cluster

test: setup
	$(VENV)/bin/lint-imports --no-cache >/dev/null || $(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

test-slurm: setup
	$(PY) -m pytest -q -m slurm

# the workflow schema's options part, generated from the option registry (src/lindring/core/options.py)
schema: setup
	$(PY) -c "from lindring.workflow.studies import write_options_schema; write_options_schema()"

clean:
	rm -rf results .snakemake report.html
