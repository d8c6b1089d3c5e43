// SPDX-License-Identifier: MIT
/*
 * lambdafs runtime for nodejs*.x functions (LAMBDA-CONTRACT.md §1, §3-§7).
 *
 * Run by the daemon as `node bootstrap.mjs` with cwd = LAMBDA_TASK_ROOT and
 * the environment of §3. Behaves like the AWS Node.js runtime interface
 * client (aws-lambda-nodejs-runtime-interface-client 3.x, the one behind
 * nodejs20.x): same handler resolution, error types and messages, error
 * JSON ({errorType, errorMessage, trace}), console format, callback and
 * callbackWaitsForEmptyEventLoop semantics, exit codes (129 uncaught
 * exception, 128 unhandled rejection). Node built-ins only.
 *
 * Notes:
 * - CommonJS code is loaded with require() (extensionless, .js outside a
 *   "type": "module" package, .cjs), ES modules with import() (.mjs, .js in
 *   a "type": "module" package), in that order, as the AWS client does.
 * - Layers: NODE_PATH gets <opt>/nodejs/node<NN>/node_modules and
 *   <opt>/nodejs/node_modules for every layer directory (LAMBDAFS_OPT_DIRS,
 *   LAMBDAFS_OPT_DIR, else /opt). require() honours it; import() of a bare
 *   specifier from an ES module does not (Node ignores NODE_PATH for ESM,
 *   on AWS too): ESM code must bundle its packages or import layer files
 *   by absolute path.
 * - Response streaming (awslambda.streamifyResponse) is accepted and
 *   buffered: the stream's bytes are sent as one ordinary response.
 */

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import Module, { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/* ---------------------------------------------------------------- errors */

const errorClasses = {
  ImportModuleError: class ImportModuleError extends Error {},
  HandlerNotFound: class HandlerNotFound extends Error {},
  MalformedHandlerName: class MalformedHandlerName extends Error {},
  UserCodeSyntaxError: class UserCodeSyntaxError extends Error {},
  MalformedStreamingHandler: class MalformedStreamingHandler extends Error {},
  InvalidStreamingOperation: class InvalidStreamingOperation extends Error {},
  UnhandledPromiseRejection: class UnhandledPromiseRejection extends Error {
    constructor(reason, promise) {
      super(reason);
      this.reason = reason;
      this.promise = promise;
    }
  },
  NodeJsExit: class NodeJsExit extends Error {
    constructor() {
      super('Error: Runtime exited without providing a reason');
    }
  },
};
for (const [name, cls] of Object.entries(errorClasses)) {
  cls.prototype.name = `Runtime.${name}`;
}
const {
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  MalformedStreamingHandler,
  UnhandledPromiseRejection,
  NodeJsExit,
} = errorClasses;

function isErrorLike(obj) {
  return (
    obj &&
    obj.name &&
    obj.message &&
    obj.stack &&
    typeof obj.name === 'string' &&
    typeof obj.message === 'string' &&
    typeof obj.stack === 'string'
  );
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

/* The error document posted to the Runtime API. */
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: error.stack.split('\n'),
      };
    }
    return {
      errorType: typeof error,
      errorMessage: error.toString(),
      trace: [],
    };
  } catch (_err) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function withEnumerableProperties(error) {
  if (error instanceof Error) {
    const ret = Object.assign(
      { errorType: error.name, errorMessage: error.message, code: error.code },
      error,
    );
    if (typeof error.stack === 'string') ret.stack = error.stack.split('\n');
    return ret;
  }
  return error;
}

/* The JSON that follows "Invoke Error" and friends in the log. */
function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch (_err) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

/* X-Ray cause header, as the AWS client sends it. */
function xrayCause(error) {
  try {
    const err = intoError(error);
    const stack = [];
    const paths = new Set();
    for (const line of String(err.stack || '').split('\n').slice(1)) {
      const m = line.match(/^\s*at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/);
      if (!m) continue;
      const file = m[2].replace(/^file:\/\//, '');
      stack.push({ path: file, line: Number(m[3]), label: m[1] || 'anonymous' });
      paths.add(file);
    }
    const out = JSON.stringify({
      working_directory: process.cwd(),
      exceptions: [{ type: err.name, message: err.message, stack }],
      paths: [...paths],
    });
    // header values must be ASCII
    const ascii = out.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
    return ascii.length < 1024 * 1024 ? ascii : '';
  } catch (_err) {
    return '';
  }
}

/* ------------------------------------------------------------- console */

const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID = Symbol.for('aws.lambda.runtime.tenantId');
const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
});
const jsonLogs = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';

function writeLine(line) {
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}

function logText(level, message, ...params) {
  writeLine(
    `${new Date().toISOString()}\t${globalThis[REQUEST_ID]}\t${level.name}\t${util.format(message, ...params)}`,
  );
}

function jsonErrorReplacer(_k, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace:
          typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
}

function logJson(level, ...messageParams) {
  const result = {
    timestamp: new Date().toISOString(),
    level: level.name,
    requestId: globalThis[REQUEST_ID],
  };
  if (globalThis[TENANT_ID] !== undefined) result.tenantId = globalThis[TENANT_ID];
  let line;
  if (messageParams.length === 1) {
    result.message = messageParams[0];
    try {
      line = JSON.stringify(result, jsonErrorReplacer);
    } catch (_) {
      result.message = util.format(result.message);
      line = JSON.stringify(result);
    }
  } else {
    result.message = util.format(...messageParams);
    for (const param of messageParams) {
      if (param instanceof Error) {
        result.errorType = param?.constructor?.name ?? 'UnknownError';
        result.errorMessage = param.message;
        result.stackTrace =
          typeof param.stack === 'string' ? param.stack.split('\n') : [];
        break;
      }
    }
    line = JSON.stringify(result);
  }
  writeLine(line);
}

let logError;

function patchConsole() {
  const log = jsonLogs ? logJson : logText;
  const min = LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  const nop = () => {};
  const make = (level) =>
    level.priority >= min.priority ? (msg, ...params) => log(level, msg, ...params) : nop;
  console.trace = make(LEVELS.TRACE);
  console.debug = make(LEVELS.DEBUG);
  console.info = make(LEVELS.INFO);
  console.log = console.info;
  console.warn = make(LEVELS.WARN);
  console.error = make(LEVELS.ERROR);
  console.fatal = (msg, ...params) => log(LEVELS.FATAL, msg, ...params);
  logError = jsonLogs
    ? (_msg, err) => console.error(intoError(err))
    : (msg, err) => console.error(msg, toFormatted(intoError(err)));
}

/* ------------------------------------------------- Runtime API client */

class RuntimeClient {
  constructor(hostPort) {
    const i = hostPort.lastIndexOf(':');
    this.hostname = i >= 0 ? hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1') : hostPort;
    this.port = i >= 0 ? parseInt(hostPort.slice(i + 1), 10) : 80;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /* Resolves {status, headers, body: Buffer}. Never times out (GET /next
   * is a long poll). A kept-alive socket the server closed while idle
   * fails the request: that one is retried once on a new connection. */
  request(method, urlPath, headers, body, retried = false) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          path: urlPath,
          method,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (err) => {
        if (req.reusedSocket && !retried && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          this.request(method, urlPath, headers, body, true).then(resolve, reject);
        } else {
          reject(err);
        }
      });
      req.end(body);
    });
  }

  async nextInvocation() {
    const res = await this.request('GET', '/2018-06-01/runtime/invocation/next', {});
    if (res.status !== 200) {
      throw new Error(
        `Request to Lambda Runtime 'next' endpoint failed. Reason: '${res.status}'. Response body: '${res.body}'`,
      );
    }
    return { bodyJson: res.body.toString('utf8'), headers: res.headers };
  }

  _post(urlPath, bodyString, headers, callback) {
    const body = Buffer.from(bodyString, 'utf8');
    this.request(
      'POST',
      urlPath,
      Object.assign(
        { 'Content-Type': 'application/json', 'Content-Length': body.length },
        headers,
      ),
      body,
    ).then(
      () => callback && callback(),
      (err) => fatal(`Runtime API ${urlPath}: ${err.message}`),
    );
  }

  /* Throws Error('Unable to stringify response body') for an
   * unserialisable result, synchronously, as the AWS client does. */
  postInvocationResponse(response, id, callback) {
    const bodyString = trySerializeResponse(response);
    this._post(
      `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`,
      bodyString,
      {},
      callback,
    );
  }

  postStreamedResponse(body, contentType, id, callback) {
    this.request(
      'POST',
      `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`,
      { 'Content-Type': contentType, 'Content-Length': body.length },
      body,
    ).then(
      () => callback && callback(),
      (err) => fatal(`Runtime API response: ${err.message}`),
    );
  }

  postInvocationError(error, id, callback) {
    const response = toRapidResponse(error);
    const headers = {};
    const xray = xrayCause(error);
    if (xray) headers['Lambda-Runtime-Function-XRay-Error-Cause'] = xray;
    this._post(
      `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/error`,
      trySerializeResponse(response),
      headers,
      callback,
    );
  }

  postInitError(error, callback) {
    const response = toRapidResponse(error);
    const headers = {};
    if (/^[\x20-\x7e]*$/.test(String(response.errorType))) {
      headers['Lambda-Runtime-Function-Error-Type'] = response.errorType;
    }
    this._post('/2018-06-01/runtime/init/error', trySerializeResponse(response), headers, callback);
  }
}

function trySerializeResponse(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch (_err) {
    throw new Error('Unable to stringify response body');
  }
}

function fatal(message) {
  process.stderr.write(`lambdafs node runtime: ${message}\n`);
  process.exit(1);
}

/* ------------------------------------------------------- loading code */

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';

function installGlobalAwsLambda() {
  const off = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (off === '1' || off === 'true') return;
  globalThis.awslambda = {
    streamifyResponse: (handler, options) => {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') {
        handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark);
      }
      return handler;
    },
    HttpResponseStream: class HttpResponseStream {
      static from(underlyingStream, prelude) {
        underlyingStream.setContentType('application/vnd.awslambda.http-integration-response');
        underlyingStream.write(JSON.stringify(prelude));
        underlyingStream.write(Buffer.alloc(8));
        return underlyingStream;
      }
    },
  };
}

/* Layer directories on NODE_PATH, for require() (§3, §4). */
function setupNodePath() {
  const opts = (process.env.LAMBDAFS_OPT_DIRS || process.env.LAMBDAFS_OPT_DIR || '/opt')
    .split(':')
    .filter(Boolean);
  const majors = [process.versions.node.split('.')[0]];
  const m = /^AWS_Lambda_nodejs(\d+)/.exec(process.env.AWS_EXECUTION_ENV || '');
  if (m && !majors.includes(m[1])) majors.push(m[1]);
  const want = [];
  for (const opt of opts) {
    for (const major of majors) want.push(path.join(opt, 'nodejs', `node${major}`, 'node_modules'));
    want.push(path.join(opt, 'nodejs', 'node_modules'));
  }
  const current = (process.env.NODE_PATH || '').split(':').filter(Boolean);
  const all = [...want.filter((d) => !current.includes(d)), ...current];
  if (all.length !== current.length) {
    process.env.NODE_PATH = all.join(':');
    if (typeof Module._initPaths === 'function') Module._initPaths();
  }
}

function moduleRootAndHandler(fullHandlerString) {
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  return [moduleRoot, handlerString];
}

function splitHandlerString(handler) {
  const match = handler.match(/^([^.]*)\.(.*)$/);
  if (!match || match.length !== 3) throw new MalformedHandlerName('Bad handler');
  return [match[1], match[2]];
}

function resolveHandler(object, nestedProperty) {
  return nestedProperty.split('.').reduce((nested, key) => nested && nested[key], object);
}

function tryRequireFile(file, extension) {
  const p = file + (extension || '');
  return fs.existsSync(p) ? require(p) : undefined;
}

async function tryAwaitImport(file, extension) {
  const p = file + (extension || '');
  return fs.existsSync(p) ? await import(pathToFileURL(p).href) : undefined;
}

function hasFolderPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, '/package.json');
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      console.warn(
        `${pj} cannot be read, it will be ignored for ES module detection purposes.`,
        e,
      );
      return false;
    }
  }
  if (folder === '/') return false;
  return hasFolderPackageJsonTypeModule(path.resolve(folder, '..'));
}

async function tryRequire(appRoot, moduleRoot, module) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);
  const extensionless = tryRequireFile(lambdaStylePath);
  if (extensionless) return extensionless;
  const pjHasModule = hasFolderPackageJsonTypeModule(path.resolve(path.dirname(lambdaStylePath)));
  if (!pjHasModule) {
    const loaded = tryRequireFile(lambdaStylePath, '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (pjHasModule && (await tryAwaitImport(lambdaStylePath, '.js'))) ||
    (await tryAwaitImport(lambdaStylePath, '.mjs')) ||
    tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) return loaded;
  const nodeStylePath = require.resolve(module, { paths: [appRoot, moduleRoot] });
  return require(nodeStylePath);
}

async function loadUserApp(appRoot, moduleRoot, module) {
  installGlobalAwsLambda();
  try {
    return await tryRequire(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && e.code !== undefined && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
}

async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const [moduleRoot, moduleAndHandler] = moduleRootAndHandler(fullHandlerString);
  const [module, handlerPath] = splitHandlerString(moduleAndHandler);
  const userApp = await loadUserApp(appRoot, moduleRoot, module);
  const handlerFunc = resolveHandler(userApp, handlerPath);
  if (!handlerFunc) throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  if (typeof handlerFunc !== 'function') throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  return handlerFunc;
}

function handlerMetadata(handler) {
  let streaming = false;
  const mark = handler[HANDLER_STREAMING];
  if (mark !== undefined && mark !== null && mark !== false) {
    if (mark !== STREAM_RESPONSE) throw new MalformedStreamingHandler('Only response streaming is supported.');
    streaming = STREAM_RESPONSE;
  }
  let isAsync = false;
  try {
    isAsync = handler.constructor?.name === 'AsyncFunction';
  } catch (_e) {
    isAsync = false;
  }
  return { streaming, isAsync };
}

/* ------------------------------------------------ invocation machinery */

const BEFORE_EXIT = Symbol.for('aws.lambda.beforeExit');
const NO_OP = () => {};
const beforeExit = {
  invoke: () => globalThis[BEFORE_EXIT](),
  reset: () => (globalThis[BEFORE_EXIT] = NO_OP),
  set: (fn) => (globalThis[BEFORE_EXIT] = fn),
};

/* callback, context.succeed/fail/done and callbackWaitsForEmptyEventLoop,
 * as CallbackContext.js: only the first call counts; callback(null, r)
 * waits for the event loop to drain unless the flag is set to false. */
function buildCallbackContext(client, id, scheduleNext) {
  const postError = (err, callback) => {
    logError('Invoke Error', err);
    client.postInvocationError(err, id, callback);
  };
  let isCompleteInvoked = false;
  const complete = (result, callback) => {
    if (isCompleteInvoked) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    isCompleteInvoked = true;
    client.postInvocationResponse(result, id, callback);
  };
  let waitForEmptyEventLoop = true;
  const callback = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleNext);
    } else {
      beforeExit.set(() => setImmediate(() => complete(result, scheduleNext)));
    }
  };
  const done = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) postError(err, scheduleNext);
    else complete(result, scheduleNext);
  };
  const callbackContext = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (err) => (err === undefined || err === null ? done('handled') : done(err, null)),
    done,
  };
  let finished = false;
  const onlyFirst = (fn) =>
    function () {
      if (!finished) {
        fn.apply(null, arguments);
        finished = true;
      }
    };
  callbackContext.succeed = onlyFirst(callbackContext.succeed);
  callbackContext.fail = onlyFirst(callbackContext.fail);
  callbackContext.done = onlyFirst(callbackContext.done);
  return [onlyFirst(callback), callbackContext, () => (isCompleteInvoked = true)];
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

/* The context object of InvokeContext.js. */
function attachEnvironmentData(target, headers) {
  if (headers['lambda-runtime-trace-id']) {
    process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
  } else {
    delete process.env._X_AMZN_TRACE_ID;
  }
  const deadline = headers['lambda-runtime-deadline-ms'];
  return Object.assign(
    target,
    {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    },
    {
      clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
      identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      awsRequestId: headers['lambda-runtime-aws-request-id'],
      tenantId: headers['lambda-runtime-aws-tenant-id'],
      getRemainingTimeInMillis: function () {
        return deadline - Date.now();
      },
    },
  );
}

function isPromise(obj) {
  return obj && obj.then && typeof obj.then === 'function';
}

class Runtime {
  constructor(client, handler, metadata, errorCallbacks) {
    this.client = client;
    this.handler = handler;
    this.metadata = metadata;
    this.errorCallbacks = errorCallbacks;
    this.handleOnce =
      metadata.streaming === STREAM_RESPONSE ? this.handleOnceStreaming : this.handleOnceNonStreaming;
  }

  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().then(
        () => {},
        (err) => {
          console.log(`Unexpected Top Level Error: ${err.toString()}`);
          this.errorCallbacks.uncaughtException(err);
        },
      );
    });
  }

  async next() {
    try {
      return await this.client.nextInvocation();
    } catch (err) {
      fatal(err.message);
    }
  }

  beginInvoke(headers) {
    const id = headers['lambda-runtime-aws-request-id'];
    if (!id) throw new Error('invocation id is missing or invalid');
    globalThis[REQUEST_ID] = id;
    globalThis[TENANT_ID] = headers['lambda-runtime-aws-tenant-id'];
    this.errorCallbacks.uncaughtException = (error) =>
      this.client.postInvocationError(error, id, () => process.exit(129));
    this.errorCallbacks.unhandledRejection = (error) =>
      this.client.postInvocationError(error, id, () => process.exit(128));
    return id;
  }

  async handleOnceNonStreaming() {
    const { bodyJson, headers } = await this.next();
    const id = this.beginInvoke(headers);
    const [callback, callbackContext, markCompleted] = buildCallbackContext(
      this.client,
      id,
      this.scheduleIteration.bind(this),
    );
    try {
      // the event loop drained before the handler answered (Runtime.js)
      beforeExit.set(() => {
        markCompleted();
        if (this.metadata.isAsync) {
          const err = new NodeJsExit();
          logError('Invoke Error', err);
          this.client.postInvocationError(err, id, () => this.scheduleIteration());
        } else {
          this.client.postInvocationResponse(null, id, () => this.scheduleIteration());
        }
      });
      const result = this.handler(
        JSON.parse(bodyJson),
        attachEnvironmentData(callbackContext, headers),
        callback,
      );
      if (isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  /* Streaming handlers (event, responseStream, context): buffered. */
  async handleOnceStreaming() {
    const { bodyJson, headers } = await this.next();
    const id = this.beginInvoke(headers);
    const { Writable } = await import('node:stream');
    const chunks = [];
    let contentType = 'application/octet-stream';
    const responseStream = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        cb();
      },
    });
    responseStream.setContentType = (type) => {
      contentType = type;
    };
    let answered = false;
    const fail = (err) => {
      if (answered) return;
      answered = true;
      beforeExit.reset();
      logError('Invoke Error', err);
      this.client.postInvocationError(err, id, () => this.scheduleIteration());
    };
    beforeExit.set(() => this.scheduleIteration());
    try {
      const ctx = attachEnvironmentData({}, headers);
      const result = this.handler(JSON.parse(bodyJson), responseStream, ctx);
      if (!isPromise(result)) {
        fail('Streaming does not support non-async handlers.');
        return;
      }
      const value = await result;
      if (typeof value !== 'undefined') console.warn('Streaming handlers ignore return values.');
      if (!responseStream.writableFinished) {
        await new Promise((resolve) => {
          if (responseStream.writableFinished) resolve();
          responseStream.on('finish', resolve);
          beforeExit.set(() => resolve());
        });
      }
      if (!responseStream.writableFinished) {
        fail('Response stream is not finished.');
        return;
      }
      beforeExit.reset();
      answered = true;
      this.client.postStreamedResponse(Buffer.concat(chunks), contentType, id, () =>
        this.scheduleIteration(),
      );
    } catch (err) {
      fail(err);
    }
  }
}

/* ---------------------------------------------------------------- main */

async function main() {
  patchConsole();
  const client = new RuntimeClient(process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001');
  const errorCallbacks = {
    uncaughtException: (error) => client.postInitError(error, () => process.exit(129)),
    unhandledRejection: (error) => client.postInitError(error, () => process.exit(128)),
  };
  process.on('uncaughtException', (error) => {
    logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    logError('Unhandled Promise Rejection', error);
    errorCallbacks.unhandledRejection(error);
  });
  beforeExit.reset();
  process.on('beforeExit', beforeExit.invoke);

  setupNodePath();
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler, metadata;
  try {
    handler = await loadHandler(appRoot, process.env._HANDLER || '');
    metadata = handlerMetadata(handler);
  } catch (error) {
    logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
    return;
  }
  new Runtime(client, handler, metadata, errorCallbacks).scheduleIteration();
}

main();
