/**
 * Generated from ../op-table.ts by packages/iocp/scripts/op-table.mjs: do not edit.
 * The constants of the native contract, for every package.
 */

/** Identifies this table; the native core must report the same (its `abiVersion`). */
export const OP_TABLE_ABI_ID = 'ops-d01d7664709fde5e';

/** Generic op kinds (0). */
export const OpKinds = {
  nop: 0
} as const;

/** File op kinds (1-63). */
export const FileOpKinds = {
  open: 2,
  close: 3,
  read: 4,
  write: 5,
  readv: 6,
  writev: 7,
  sync: 8,
  allocate: 9,
  truncate: 10,
  stat: 11,
  copyRange: 12,
  datasync: 13,
  realpath: 14
} as const;

/** Socket op kinds (64-127). */
export const SocketOpKinds = {
  accept: 65,
  connect: 66,
  recv: 67,
  send: 68,
  shutdown: 69,
  close: 70,
  forward: 71,
  sendfile: 72
} as const;

/** Every op: kind, family, name, record layout and traits (the native core exports the same). */
export const OP_DESCRIPTIONS = [
  {
    kind: 0,
    family: 'generic',
    name: 'nop',
    layout: {
      buffers: []
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 2,
    family: 'file',
    name: 'open',
    layout: {
      path: 'path',
      arg: 'openBits'
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'file',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 3,
    family: 'file',
    name: 'close',
    layout: {
      handle: 'file'
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'file',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 4,
    family: 'file',
    name: 'read',
    layout: {
      handle: 'file',
      offset: 'position',
      buffers: [
        'data'
      ]
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: true,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 5,
    family: 'file',
    name: 'write',
    layout: {
      handle: 'file',
      offset: 'position',
      buffers: [
        'data'
      ]
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: true,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 6,
    family: 'file',
    name: 'readv',
    layout: {
      handle: 'file',
      offset: 'position',
      buffers: []
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: true,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 7,
    family: 'file',
    name: 'writev',
    layout: {
      handle: 'file',
      offset: 'position',
      buffers: []
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: true,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 8,
    family: 'file',
    name: 'sync',
    layout: {
      handle: 'file'
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 9,
    family: 'file',
    name: 'allocate',
    layout: {
      handle: 'file',
      arg: 'size'
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 10,
    family: 'file',
    name: 'truncate',
    layout: {
      handle: 'file',
      arg: 'size'
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 11,
    family: 'file',
    name: 'stat',
    layout: {
      handle: 'file',
      buffers: [
        'record'
      ]
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 12,
    family: 'file',
    name: 'copyRange',
    layout: {
      handle: 'source',
      offset: 'position',
      arg: 'target',
      length: 'length',
      buffers: [
        'bounce'
      ]
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: true,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 13,
    family: 'file',
    name: 'datasync',
    layout: {
      handle: 'file'
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 14,
    family: 'file',
    name: 'realpath',
    layout: {
      handle: 'file',
      buffers: [
        'path'
      ]
    },
    traits: {
      blockingOnWindows: true,
      uringHelper: true,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'none',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 65,
    family: 'socket',
    name: 'accept',
    layout: {
      handle: 'listener',
      buffers: [
        'addresses?'
      ]
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'socket',
      closesHandle: 'none',
      relays: false,
      multishot: true,
      reactor: 'read',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 66,
    family: 'socket',
    name: 'connect',
    layout: {
      handle: 'socket',
      path: 'host',
      arg: 'port'
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'write',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 67,
    family: 'socket',
    name: 'recv',
    layout: {
      handle: 'socket',
      buffers: [
        'data'
      ]
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'read',
      reactorQueuesDirectly: true
    }
  },
  {
    kind: 68,
    family: 'socket',
    name: 'send',
    layout: {
      handle: 'socket',
      buffers: [
        'data',
        'progress?'
      ]
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'write',
      reactorQueuesDirectly: true
    }
  },
  {
    kind: 69,
    family: 'socket',
    name: 'shutdown',
    layout: {
      handle: 'socket',
      arg: 'how'
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'flush',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 70,
    family: 'socket',
    name: 'close',
    layout: {
      handle: 'socket'
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'socket',
      relays: false,
      multishot: false,
      reactor: 'close',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 71,
    family: 'socket',
    name: 'forward',
    layout: {
      handle: 'socket',
      arg: 'to',
      buffers: [
        'data',
        'stats?'
      ]
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: true,
      multishot: false,
      reactor: 'read',
      reactorQueuesDirectly: false
    }
  },
  {
    kind: 72,
    family: 'socket',
    name: 'sendfile',
    layout: {
      handle: 'socket',
      offset: 'position',
      arg: 'file',
      length: 'length',
      buffers: [
        'head',
        'progress?'
      ]
    },
    traits: {
      blockingOnWindows: false,
      uringHelper: false,
      uringCopiesInline: false,
      returnsHandle: 'none',
      closesHandle: 'none',
      relays: false,
      multishot: false,
      reactor: 'write',
      reactorQueuesDirectly: true
    }
  }
] as const;

/** See OP_CONSTANTS.recordWords in op-table.ts. */
export const RECORD_WORDS = 4;

/** See OP_CONSTANTS.opRecordFinal in op-table.ts. */
export const OP_RECORD_FINAL = 0;

/** See OP_CONSTANTS.opRecordMore in op-table.ts. */
export const OP_RECORD_MORE = 1;

/** See OP_CONSTANTS.batchFields in op-table.ts. */
export const BATCH_FIELDS = 6;

/** See OP_CONSTANTS.kindLimit in op-table.ts. */
export const KIND_LIMIT = 128;

/** See OP_CONSTANTS.opFlags in op-table.ts. */
export const OP_FLAGS = {
  multishot: 1,
  batch: 2
} as const;

/** See OP_CONSTANTS.maxTransfer in op-table.ts. */
export const MAX_TRANSFER = 2147479552;

/** See OP_CONSTANTS.fileOpen in op-table.ts. */
export const OPEN_BITS = {
  dispositionMask: 7,
  accessRead: 8,
  accessWrite: 16,
  shareShift: 5,
  shareMask: 7,
  direct: 256,
  writeThrough: 512,
  hintSequential: 1024,
  hintRandom: 2048
} as const;

/** See OP_CONSTANTS.dispositions in op-table.ts. */
export const DISPOSITIONS = {
  'create-new': 1,
  'create-always': 2,
  'open-existing': 3,
  'open-always': 4,
  'truncate-existing': 5
} as const;

/** See OP_CONSTANTS.shareBits in op-table.ts. */
export const SHARE_BITS = {
  read: 1,
  write: 2,
  delete: 4
} as const;

/** See OP_CONSTANTS.statFields in op-table.ts. */
export const STAT_FIELDS = [
  'size',
  'allocated',
  'blksize',
  'mode',
  'nlink',
  'ino',
  'dev',
  'atimeMs',
  'mtimeMs',
  'ctimeMs',
  'birthtimeMs'
] as const;

/** See OP_CONSTANTS.acceptAddressEntryBytes in op-table.ts. */
export const ACCEPT_ADDRESS_ENTRY_BYTES = 64;

/** See OP_CONSTANTS.acceptAddressBytes in op-table.ts. */
export const ACCEPT_ADDRESS_BYTES = 128;

/** See OP_CONSTANTS.shutdownHow in op-table.ts. */
export const SHUTDOWN_HOW = {
  read: 0,
  write: 1,
  both: 2
} as const;

/** See OP_CONSTANTS.socketOptions in op-table.ts. */
export const SOCKET_OPTIONS = {
  noDelay: 1,
  lingerZero: 2
} as const;

/** See OP_CONSTANTS.forwardStatsBytes in op-table.ts. */
export const FORWARD_STATS_BYTES = 24;

/** See OP_CONSTANTS.forwardFailedSide in op-table.ts. */
export const FORWARD_FAILED_SIDE = {
  recv: 0,
  send: 1
} as const;

/** See OP_CONSTANTS.sendProgressBytes in op-table.ts. */
export const SEND_PROGRESS_BYTES = 8;
