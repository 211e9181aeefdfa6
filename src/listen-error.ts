// A listener that cannot bind is a configuration problem, not a crash: the person must pick another
// port or host, so the message names the option that chose it instead of printing a stack trace.
import { type Config, envName, flagName, type OptionName } from './config.js';

type ListenFailure = NodeJS.ErrnoException & { port?: number; address?: string };

/** Who usually holds a port already, per listener. */
const LIKELY_HOLDER: Partial<Record<OptionName, string>> = {
  port: 'another Herald or web server?',
  mqttPort: 'another MQTT broker?',
};

/** The options of the listener that failed, matched by the port in the error. */
function listenerOf(err: ListenFailure, config: Config): { port: OptionName; host: OptionName } | undefined {
  if (config.mqttPort !== 'auto' && config.mqttPort !== 0 && err.port === config.mqttPort) {
    return { port: 'mqttPort', host: 'mqttHost' };
  }
  if (err.port === config.port) return { port: 'port', host: 'host' };
  return undefined;
}

/** One line naming the option and what to do, or undefined when `err` is not a failed listen. */
export function listenProblem(err: unknown, config: Config): string | undefined {
  const e = err as ListenFailure;
  if (e?.syscall !== 'listen') return undefined;
  const which = listenerOf(e, config);
  if (which === undefined) return undefined;
  const option = `${flagName(which.port)} ${e.port}`;
  const off = which.port === 'mqttPort' ? ' (0 turns MQTT over TCP off)' : '';
  const choose = `choose another with ${flagName(which.port)} or ${envName(which.port)}${off}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return `${option} is already in use (${LIKELY_HOLDER[which.port]}); ${choose}`;
    case 'EACCES':
      return `${option} needs privileges this process does not have (ports below 1024 usually do); ${choose}`;
    case 'EADDRNOTAVAIL':
      return `${flagName(which.host)} ${config[which.host]} is not an address of this machine; use 0.0.0.0 for every interface or 127.0.0.1 for this machine only`;
    default:
      return undefined;
  }
}
