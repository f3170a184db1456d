export type { LearningSink, LlmCallRecord, QualityVerdict } from './learning/llm-call.js';
export type {
  Pin,
  Rule,
  RuleChange,
  RuleEvidence,
  RuleMatch,
  RuleSnapshot,
  RuleStore,
} from './routing/rule.js';
