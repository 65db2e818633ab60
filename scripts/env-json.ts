/**
 * npm run env-json — writes env.json from template.yaml: one entry per function for
 * `sam local invoke --env-vars env.json`, pointing it at the services `npm start` runs (see sam-env-json.ts).
 * A unit test fails when env.json and the template drift apart; run this after changing a function's variables.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { samEnvJson } from '@real-time-platform/local-runtime';
import { ENV_JSON_PARAMETER_SETS } from './lib/env-json-parameters';

const root = join(__dirname, '..');
const envJson = samEnvJson(join(root, 'template.yaml'), ENV_JSON_PARAMETER_SETS);
writeFileSync(join(root, 'env.json'), `${JSON.stringify(envJson, null, 2)}\n`);
process.stdout.write(`env.json: ${Object.keys(envJson).length - 1} functions\n`);
