/**
 * The plain Envoy of the ceilings: one listener whose http_connection_manager has only the router filter,
 * a route to one static cluster (the bare Koa process) and a direct_response route: none of what the
 * platform's gateway adds (jwt_authn, local rate limits, header mutation, access logs, more routes).
 */

/** The path the plain listener answers itself, without an upstream. */
export const DIRECT_PATH = '/direct';

const at = (port: number) => ({ socket_address: { address: '127.0.0.1', port_value: port } });

export function plainEnvoyConfig(ports: { listener: number; admin: number; upstream: number }): object {
  return {
    admin: { address: at(ports.admin) },
    static_resources: {
      listeners: [
        {
          name: 'plain',
          address: at(ports.listener),
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'plain',
                    route_config: {
                      name: 'plain',
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [
                            {
                              match: { path: DIRECT_PATH },
                              direct_response: { status: 200, body: { inline_string: '{"ok":true}' } },
                            },
                            { match: { prefix: '/' }, route: { cluster: 'koa' } },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'koa',
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'koa',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: at(ports.upstream) } }] }],
          },
        },
      ],
    },
  };
}
