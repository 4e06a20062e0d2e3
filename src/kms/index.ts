export { KmsError, type KmsErrorCode } from './errors.js';
export { Keyring, keyArn, keyIdOf } from './keyring.js';
