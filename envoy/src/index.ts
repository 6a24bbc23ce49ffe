export * from './gateway.ts';
export * from './service-registry.ts';
export * from './render-envoy-config.ts';
export * from './helm-template.ts';
export * from './api-docs.ts';
