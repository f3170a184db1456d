export {
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_TASK_TYPE,
} from './semconv.js';
