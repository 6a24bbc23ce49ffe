export * from './gateway.ts';
export * from './render-envoy-config.ts';
export * from './helm-template.ts';
export * from './api-docs.ts';
