#!/usr/bin/env bash
# Deploys the stack for one environment: scripts/deploy.sh develop|staging|prod
# Builds with esbuild through `sam build` and deploys with the matching samconfig.toml section.
set -euo pipefail

usage() {
  echo "usage: $0 develop|staging|prod" >&2
  exit 2
}

[ $# -eq 1 ] || usage
ENV="$1"
case "$ENV" in
  develop | staging | prod) ;;
  *)
    echo "error: unknown environment '$ENV' (expected develop, staging or prod)" >&2
    usage
    ;;
esac

if ! command -v sam >/dev/null 2>&1; then
  echo "error: the AWS SAM CLI ('sam') is not installed or not on the PATH." >&2
  echo "Install it: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html" >&2
  exit 127
fi

# Run from the repository root so template.yaml and samconfig.toml are found wherever the script is called from.
cd "$(dirname "$0")/.."

echo "Deploying environment '$ENV' (samconfig.toml [$ENV.deploy.parameters])"
sam build
sam deploy --config-env "$ENV"
