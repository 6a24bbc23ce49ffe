// The repository's one polling helper, shared with the libraries' tests.
export { eventually } from '@mrp/platform/testing';
