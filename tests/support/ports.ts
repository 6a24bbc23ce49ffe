// One way to pick a port for every test (see @mrp/gateway/testing: outside the kernel's ephemeral range).
export { freePort } from '@mrp/gateway/testing';
