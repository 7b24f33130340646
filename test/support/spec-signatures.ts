// The Marketplace's side of Body-Sign and the V1 authToken lives with the conformance runner, which signs the same way
// against a deployment; the tests keep importing it from here.
export { specBodySign, specV1AuthToken, specV1KitParams } from "../../tools/conformance/spec-signatures";
