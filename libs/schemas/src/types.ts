/** TypeScript shapes of the contracts in libs/schemas/json; each mirrors the schema of the same name. */

export type Role = 'admin' | 'analyst' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'analyst', 'viewer'];

export interface User {
  id: string;
  email: string;
  role: Role;
  full_name: string;
  has_password: boolean;
  created_at: string;
  updated_at: string;
}

export interface UserCreateRequest {
  email: string;
  role: Role;
  full_name: string;
  password?: string;
}

export type UserUpdateRequest = Partial<UserCreateRequest>;

export interface UserList {
  items: User[];
  next_cursor: string | null;
}

export interface PageQuery {
  limit: number;
  cursor?: string;
}

export interface IdParams {
  id: string;
}

export interface CredentialsVerifyRequest {
  email: string;
  password: string;
}

export interface VerifiedIdentity {
  id: string;
  email: string;
  role: Role;
}

export interface TokenRequest {
  grant_type?: string;
  username: string;
  password: string;
  scope?: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}
