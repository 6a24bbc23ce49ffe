export {
  createScoringService,
  SERVICE_NAME,
  type ScoringService,
  type ScoringServiceOverrides,
} from './scoring-service.ts';
export { loadScoringServiceConfig, scoringServiceConfigSpec, type ScoringServiceConfig } from './config.ts';
export { describeModel, MODEL_VERSION, type ModelDescription } from './domain/scoring-model.ts';
