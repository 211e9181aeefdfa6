import { DURATION_FORMS, envName, flagName, formatDefault, optionNames, optionSpecs } from '../src/config.js';

const rows = optionNames.map((n) => {
  const s = optionSpecs[n] as { default: unknown; describe: string; secret?: boolean };
  const d = s.secret && s.default === '' ? '(empty)' : `\`${formatDefault(n)}\``;
  return `| \`${flagName(n)}\` | \`${envName(n)}\` | \`${n}\` | ${d} | ${s.describe.replace(/\|/g, '\\|')} |`;
});
console.log(`# Configuration

Every option has a default. Give options as command-line flags, as \`HERALD_*\` environment
variables, or in a JSON config file (\`--config herald.json\` or \`HERALD_CONFIG\`), whose keys are
the camelCase names below. When an option is given in several places, the flag wins over the
environment variable, which wins over the file. A bad value stops the server at start-up with a
message naming the option and where it came from; \`herald --help\` prints this table.

An unknown flag or config-file key stops the server too (exit code 2), naming the closest known
option (\`unknown option --histroy-size; did you mean --history-size?\`). An unknown \`HERALD_*\`
environment variable is only a warning on stderr, with the closest name, and the server starts:
the environment is shared with other programs, so a variable with that prefix is not necessarily
meant for Herald (\`HERALD_CONFIG\`, and \`HERALD_SERVER\` of the client commands, are known). A
port that is already taken is reported the same way, as the option that chose it
(\`--mqtt-port 1883 is already in use (another MQTT broker?)\`), with exit code 2.

Lists are comma-separated in flags and variables (\`HERALD_ALLOWED_ORIGINS=https://a.example,https://b.example\`)
and JSON arrays in the file; JSON-valued options (\`channelOptions\`, \`mqttUsers\`) are JSON text in
flags and variables and plain objects in the file.

Durations take a unit: \`${DURATION_FORMS.replace(/, | or /g, '`, `')}\` (ms, s, m, h, d; decimals such as
\`1.5s\` too). A plain number is in the option's own unit, which each option below names: the unit
it has always taken, so existing settings keep their meaning (\`historyTtl: 300\` is still five
minutes, \`sseRetry: 2000\` still two seconds). The value must come to a whole number of that unit:
\`historyTtl\` takes \`90s\` or \`2m\`, not \`250ms\`. Defaults are shown with their unit.

| flag | environment variable | file key | default | meaning |
|---|---|---|---|---|
${rows.join('\n')}

## Per-channel options

\`channelOptions\` overrides the history and publishing settings for channels whose name starts
with a prefix; the longest matching prefix wins:

\`\`\`json
{
  "historySize": 100,
  "channelOptions": {
    "news:": { "historySize": 1000, "historyTtl": 3600 },
    "telemetry/": { "historySize": 0, "allowClientPublish": true }
  }
}
\`\`\`
`);
