// What `herald <command> --help` prints, and the version: one table so that every command has a
// help text and an unknown command can be answered with the closest known one.
import { readFileSync } from 'node:fs';

const SERVER = `Server: --server URL or --api-url URL (HERALD_SERVER or HERALD_API_URL, default
http://127.0.0.1:8080); --api-key KEY (HERALD_API_KEY) when the server has one.`;

export const COMMAND_HELP: Record<string, string> = {
  serve: 'herald serve [options]\nRuns the server; `herald --help` lists every option.',
  bench: 'herald bench [options]\nRuns the benchmark from a source checkout, as `npm run bench`.',
  publish: `herald publish <channel> [data]
Publishes data (JSON if it parses as JSON, else text) and prints the publication's offset and epoch.
Without data, or with "-", publishes each line of standard input as it comes, one JSON line each.
${SERVER}`,
  subscribe: `herald subscribe <channel>... [--since offset:epoch]
Prints each publication as one JSON line as it arrives; --since resumes after that position.
Ctrl-C ends it with exit code 0.
${SERVER}`,
  history: `herald history <channel> [--limit N]\nPrints the channel's history as JSON.\n${SERVER}`,
  presence: `herald presence <channel>\nPrints who is subscribed to the channel, as JSON.\n${SERVER}`,
  channels: `herald channels [--pattern GLOB]\nPrints the active channels and their subscriber counts.\n${SERVER}`,
  info: `herald info\nPrints the server's nodes and their figures, as JSON.\n${SERVER}`,
  gentoken: `herald gentoken --user ID [--ttl 1h] [--info JSON] [--config FILE]
Prints a connection token for user ID, signed with the configured tokenHmacSecret
(HERALD_TOKEN_HMAC_SECRET, or the config file of --config / HERALD_CONFIG). --ttl is how long it is
valid (a duration such as 30m, 1h or 7d; 0 = never expires); --info is JSON the server copies into
presence and publications.`,
  genconfig: `herald genconfig [--output FILE]
Writes a starting configuration file: every option at its default, each with its meaning as a
comment. Standard output unless --output names a file (an existing one is not overwritten).`,
  checkconfig: `herald checkconfig <file>
Reports every problem of a configuration file, together with HERALD_* variables and their
precedence, and exits 2 if there is any; prints "ok" and exits 0 otherwise.`,
  help: 'herald help [command]\nShows the usage of herald, or of one command.',
};

export function version(): string {
  // ../package.json from src/ (tsx) and from dist/ (installed) alike.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** -h and --help anywhere among a command's arguments. */
export const asksHelp = (argv: string[]) => argv.includes('--help') || argv.includes('-h');
