# lindring: `make run` (default study) and `make test` each do all the set-up they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := python3-petsc4py-64-complex python3-slepc4py-64-complex python3-petsc4py-64-real \
                python3-slepc4py-64-real python3-mpi4py \
                python3-venv openmpi-bin libopenblas0-serial
# OpenMPI refuses to run as root without these (our CI and sandboxes run as root)
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
# one BLAS/OpenMP thread per MPI rank
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1

.PHONY: setup run run-slurm report test test-slurm clean schema
$(VENV)/.apt:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $@

# The venv sees none of Debian's Python packages but the MPI bindings (petsc4py/slepc4py are found
# by lindring.solvers.petsc): Debian's own sphinx, docutils, ... would otherwise clash with what
# pip installs (a red "dependency resolver" error that means nothing for lindring). pip's output
# goes to .venv/pip.log and is shown only if it fails.
$(VENV)/.installed: $(VENV)/.apt pyproject.toml
	@test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	@sed -i 's/^include-system-site-packages = true/include-system-site-packages = false/' $(VENV)/pyvenv.cfg
	@mkdir -p $(VENV)/debian && ln -sfn /usr/lib/python3/dist-packages/mpi4py $(VENV)/debian/mpi4py
	@$(PY) -c "import site, os; open(os.path.join(site.getsitepackages()[0], 'debian-mpi4py.pth'), 'w').write(os.path.abspath('$(VENV)/debian') + '\\n')"
	@echo "installing lindring and its Python packages into $(VENV) (log: $(VENV)/pip.log)"
	@$(PY) -m pip install --disable-pip-version-check "numpy<2" -e ".[workflow,test]" > $(VENV)/pip.log 2>&1 \
	  || { tail -30 $(VENV)/pip.log; echo "pip install failed: see $(VENV)/pip.log"; exit 1; }
	@for scalar in complex real; do \
	  $(PY) -c "from lindring.solvers.petsc import init, loaded_scalar; init(scalar='$$scalar'); \
	    assert loaded_scalar() == '$$scalar', 'no $$scalar-scalar PETSc build'" || exit 1; done
	@touch $@

# one line: what was found
setup: $(VENV)/.installed
	@$(PY) -c "from lindring.api import versions; v = versions(); print('lindring ready:', \
	  ', '.join(f'{k} {v[k]}' for k in ('lindring', 'PETSc', 'SLEPc', 'MPI', 'mpi4py', 'numpy')), \
	  '($(VENV)/bin/lindring)')"

# ends with the summary of what was computed (results/summary.txt, rule quicklook)
run: setup
	@$(VENV)/bin/snakemake --profile profiles/local \
	  || { echo "some jobs failed: see the messages above and logs/; make run again to retry them"; exit 1; }
	@echo; cat results/summary.txt

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

# headless Chromium for the browser checks of the report and the quick-look page
$(VENV)/.chromium: $(VENV)/.apt
	@if ! command -v chromium >/dev/null; then \
	  echo "installing Debian's chromium (headless browser for the tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@touch $@

test: setup $(VENV)/.chromium
	$(VENV)/bin/lint-imports --no-cache >/dev/null || $(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

test-slurm: setup
	$(PY) -m pytest -q -m slurm

# the workflow schema's options part, generated from the option registry (src/lindring/core/options.py)
schema: setup
	$(PY) -c "from lindring.workflow.studies import write_options_schema; write_options_schema()"

clean:
	rm -rf results .snakemake report.html
