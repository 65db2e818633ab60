/** The parameter sets env.json is made from: the defaults (develop), then one that enables the conditional functions. */
export const ENV_JSON_PARAMETER_SETS: Record<string, string>[] = [
  {},
  { AuthMode: 'jwt', PresenceEventBusName: 'real-time-platform-presence' },
];
