export {
  createUserService,
  prepareUserDatabase,
  MIGRATIONS_DIR,
  SERVICE_NAME,
  type UserService,
} from './user-service.ts';
export { loadUserServiceConfig, userServiceConfigSpec, type UserServiceConfig } from './config.ts';
export { DEV_USERS } from './domain/user.use-cases.ts';
export { verifyPassword } from './domain/password-hasher.ts';
