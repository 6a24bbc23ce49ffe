export * from './gateway.ts';
export * from './render-envoy-config.ts';
