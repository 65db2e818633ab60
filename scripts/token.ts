/**
 * npm run token — prints a development JWT (HS256) for the local platform started with `npm start -- --auth jwt`.
 * `npm run token -- --help` for the flags.
 */
import { DEV_SECRET_FILE, readDevSecret } from '@real-time-platform/local-runtime';
import { runMain, UsageError } from './lib/cli-support';
import { parseTokenArgs, signToken, TOKEN_HELP } from './lib/token-cli';

async function main(argv: string[]): Promise<number> {
  const command = parseTokenArgs(argv, process.env);
  if (command.help) {
    process.stdout.write(TOKEN_HELP);
    return 0;
  }
  const secret = command.secret ?? (await readDevSecret(DEV_SECRET_FILE));
  if (secret === undefined) {
    throw new UsageError(
      `no secret to sign with: start the platform with \`npm start -- --auth jwt\` (it keeps one in ${DEV_SECRET_FILE}), ` +
        'or set RTP_JWT_SECRET to the secret the platform checks',
    );
  }
  process.stdout.write(`${await signToken(command, secret)}\n`);
  return 0;
}

runMain(() => main(process.argv.slice(2)));
