// What other CDK apps use of Ordinal's CDK code: the Ordinal stack, and sets as CloudFormation
// resources (docs/cdk.md), e.g.
//   import { OrdinalStatefulSet } from '<this repository>/infra/cdk/index.ts';
export { OrdinalStack, type OrdinalStackProps } from './stack.js';
export { readParams, ParamError, type OrdinalStackParams } from './params.js';
export {
  OrdinalStatefulSet,
  OrdinalStatefulSetProvider,
  MAX_ROLLOUT_TIMEOUT,
  type OrdinalSetManifest,
  type OrdinalStatefulSetProps,
} from './stateful-set/construct.js';
export { manifestFromFile } from './stateful-set/manifest-file.js';
