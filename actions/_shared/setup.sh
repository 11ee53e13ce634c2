# shellcheck shell=bash
# Installs the mlops CLI into a private virtual environment under $RUNNER_TEMP
# and puts `mlops` (and nothing else) on PATH. Every action of mlops-actions
# sources this file; it never installs into the user's Python.
#
# Reads (all optional):
#   MLOPS_SETUP_EXTRAS   comma or space list of extras (see `known` below)
#   MLOPS_SETUP_PYTHON   interpreter the venv is made from (default: python3 on PATH)
#   MLOPS_SETUP_REQUIREMENTS the project's own requirements file (relative to the
#                        working directory), installed into the same venv: what
#                        the project's components and model need (scikit-learn,
#                        say) instead of an extra's fixed set
#   MLOPS_ACTIONS_SOURCE what to install instead of this checkout: a wheel or a
#                        folder (air-gapped runners, and this repo's own tests)
# Exports MLOPS_ACTIONS_CLI, MLOPS_ACTIONS_VERSION, MLOPS_ACTIONS_VENV and
# MLOPS_ACTIONS_REUSED (not MLOPS_*: the CLI reads MLOPS_<OPTION> variables).

mlops__fail() {
  # One annotation naming the input to change; the caller's step then fails.
  printf '::error title=mlops-actions setup::%s\n' "$1"
  return 1
}

mlops__setup() {
  local root known extras extra python source version key base venv bin
  local requirements=""
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  known="azure aks train torch mlflow serve lint dev"

  case "${RUNNER_OS:-Linux}" in
    Linux | macOS) ;;
    *) mlops__fail "runner OS ${RUNNER_OS} is not supported: use a Linux or macOS runner (runs-on: ubuntu-latest)" || return 1 ;;
  esac

  extras=""
  local -a requested=()
  # Split on commas and whitespace without glob expansion of the words.
  read -r -a requested <<<"$(printf '%s' "${MLOPS_SETUP_EXTRAS:-}" | tr ',\n\r\t' '    ')"
  for extra in ${requested[@]+"${requested[@]}"}; do
    if [[ ! "$extra" =~ ^[a-z]+$ ]] || [[ " $known " != *" $extra "* ]]; then
      mlops__fail "extras: unknown extra '${extra}': use a comma list of ${known// /, }" || return 1
    fi
    [[ ",$extras," == *",$extra,"* ]] || extras="${extras:+$extras,}$extra"
  done

  python="${MLOPS_SETUP_PYTHON:-python3}"
  if ! command -v -- "$python" >/dev/null 2>&1; then
    mlops__fail "python: '${python}' was not found: add actions/setup-python (3.10 or newer) before this action, or set the python input" || return 1
  fi
  python="$(command -v -- "$python")"
  if ! "$python" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    mlops__fail "python: ${python} is older than 3.10 or has no venv module: set up Python 3.10 or newer with actions/setup-python" || return 1
  fi

  source="${MLOPS_ACTIONS_SOURCE:-$root}"
  if [[ ! -e "$source" ]]; then
    mlops__fail "MLOPS_ACTIONS_SOURCE: ${source} does not exist: point it at a wheel or a checkout of mlops-actions" || return 1
  fi
  if [[ -n "${MLOPS_SETUP_REQUIREMENTS:-}" ]]; then
    requirements="$MLOPS_SETUP_REQUIREMENTS"
    # Absolute, so a name starting with '-' can never read as a pip option.
    [[ "$requirements" == /* ]] || requirements="$PWD/$requirements"
    if [[ ! -f "$requirements" ]]; then
      mlops__fail "requirements: ${MLOPS_SETUP_REQUIREMENTS} is not a file: give the path of your project's requirements file, relative to the workspace" || return 1
    fi
  fi

  version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/src/mlops_actions/__init__.py")"
  # Same version, extras, interpreter and source in one job: reuse the venv.
  key="$(
    {
      printf '%s\n' "$version" "$extras" "$python" "$source" "$requirements"
      [[ -z "$requirements" ]] || cat -- "$requirements"
    } | cksum | cut -d' ' -f1
  )"
  base="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mlops-actions"
  venv="$base/venv-$key"
  bin="$base/bin-$key"

  if [[ -f "$venv/.mlops-ready" ]] && "$venv/bin/mlops" --version >/dev/null 2>&1; then
    MLOPS_ACTIONS_REUSED=true
    echo "mlops-actions ${version}: reusing ${venv}"
  else
    MLOPS_ACTIONS_REUSED=false
    rm -rf "$venv"
    local spec="$source${extras:+[$extras]}"
    local -a install=("$spec")
    [[ -z "$requirements" ]] || install+=(--requirement "$requirements")
    echo "mlops-actions ${version}: installing ${spec}${requirements:+ and ${requirements}} into ${venv}"
    if command -v uv >/dev/null 2>&1; then
      uv venv --quiet --python "$python" "$venv" &&
        uv pip install --quiet --python "$venv/bin/python" "${install[@]}"
    else
      "$python" -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${install[@]}"
    fi || mlops__fail "installing ${spec}${requirements:+ and ${requirements}} failed (see the log above): check the extras and requirements inputs and the runner's network" || return 1
    touch "$venv/.mlops-ready"
  fi

  # Only `mlops` goes on PATH: the venv's python must never shadow the user's.
  mkdir -p "$bin"
  ln -sf "$venv/bin/mlops" "$bin/mlops"
  export PATH="$bin:$PATH"
  if [[ -n "${GITHUB_PATH:-}" ]]; then
    echo "$bin" >>"$GITHUB_PATH"
  fi
  MLOPS_ACTIONS_CLI="$bin/mlops"
  MLOPS_ACTIONS_VENV="$venv"
  MLOPS_ACTIONS_VERSION="$("$MLOPS_ACTIONS_CLI" --version | sed 's/^mlops, version //')"
  export MLOPS_ACTIONS_CLI MLOPS_ACTIONS_VENV MLOPS_ACTIONS_VERSION MLOPS_ACTIONS_REUSED
}

mlops__setup
