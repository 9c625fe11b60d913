import { kopecksToRubleNumber, lineTotal } from '../../domain/money';
import { parsePhpQuery } from './php-query';
import {
  bitrixDate,
  int,
  missingParam,
  orderPrice,
  RestError,
  type BitrixSimState,
  type SimDocument,
  type SimDocumentElement,
  type SimOrder,
  type SimPayment,
  type SimShipment,
  type SimStock,
  type SimStore,
} from './state';

/** What a REST method answers: the `result` and, for lists, `total`/`next`. */
export interface MethodResult {
  result: unknown;
  total?: number;
  next?: number;
}

export interface MethodContext {
  state: BitrixSimState;
  /** Token given to handlers bound through event.bind. */
  applicationToken: string;
  /** Counts an inner batch command, e.g. "batch:catalog.document.add". */
  count(name: string): void;
  /** The user the inbound webhook acts as (author of what it adds). */
  userId?: number;
  /** Scopes granted to the webhook; undefined = every scope. */
  scopes?: ReadonlySet<string>;
}

/** The scope a method needs (dev.1c-bitrix.ru/rest_help/rest_sum/premissions_scope.php): its module, the part before the first dot. */
const SCOPED = new Set(['sale', 'catalog', 'crm', 'im']);
export function requiredScope(method: string): string | undefined {
  const module = method.split('.')[0] ?? '';
  return SCOPED.has(module) ? module : undefined;
}

/** A webhook without the method's scope gets 403 insufficient_scope (with an empty description, as Bitrix sends it). */
export function checkScope(ctx: MethodContext, method: string): void {
  const scope = requiredScope(method);
  if (scope && ctx.scopes && !ctx.scopes.has(scope)) throw new RestError(403, 'insufficient_scope', '');
}

type Params = Record<string, unknown>;
type Row = Record<string, unknown>;
type Handler = (ctx: MethodContext, params: Params) => MethodResult;

const PAGE = 50;
const BATCH_LIMIT = 50;

const rub = kopecksToRubleNumber;
const YN = (b: boolean): 'Y' | 'N' => (b ? 'Y' : 'N');

export const methods: Record<string, Handler> = {
  'sale.order.get': ({ state }, p) => ({ result: { order: renderOrder(state, state.getOrder(id(p))) } }),
  'sale.order.list': ({ state }, p) => list(p, [...state.orders.values()].map(renderOrderHeader), 'orders'),
  'sale.order.update': ({ state }, p) => ({ result: { order: renderOrderHeader(state.updateOrder(id(p), fields(p))) } }),

  'sale.payment.get': ({ state }, p) => {
    const { order, payment } = state.findPayment(id(p));
    return { result: { payment: renderPayment(state, order, payment) } };
  },
  'sale.payment.list': ({ state }, p) =>
    list(p, [...state.orders.values()].flatMap((o) => o.payments.map((pay) => renderPayment(state, o, pay))), 'payments'),
  'sale.payment.add': ({ state }, p) => {
    const payment = state.addPayment(fields(p));
    return { result: { payment: renderPayment(state, state.getOrder(payment.orderId), payment) } };
  },
  'sale.payment.update': ({ state }, p) => {
    const paymentId = id(p);
    const payment = state.updatePayment(paymentId, fields(p));
    return { result: { payment: renderPayment(state, state.getOrder(payment.orderId), payment) } };
  },

  'sale.shipment.get': ({ state }, p) => {
    const { order, shipment } = state.findShipment(id(p));
    return { result: { shipment: renderShipment(order, shipment) } };
  },
  'sale.shipment.list': ({ state }, p) =>
    list(p, [...state.orders.values()].flatMap((o) => o.shipments.map((s) => renderShipment(o, s))), 'shipments'),
  'sale.shipment.update': ({ state }, p) => {
    const shipment = state.updateShipment(id(p), fields(p));
    return { result: { shipment: renderShipment(state.getOrder(shipment.orderId), shipment) } };
  },

  'sale.status.list': ({ state }, p) =>
    list(
      p,
      [...state.statuses.values()].map((s) => ({ color: null, id: s.id, notify: YN(s.notify), sort: s.sort, type: s.type, xmlId: '' })),
      'statuses',
    ),
  // The old-style sale.paysystem.* methods answer a bare list with UPPER_CASE fields.
  'sale.paysystem.list': ({ state }, p) => ({
    result: query(
      p,
      [...state.paySystems.values()].map((ps) => ({
        ID: String(ps.id),
        NAME: ps.name,
        ACTIVE: YN(ps.active),
        IS_CASH: YN(ps.isCash),
        SORT: '100',
        ACTION_FILE: ps.isCash ? 'cash' : 'orderdocument',
      })),
      'ID',
    ),
  }),

  'catalog.store.list': ({ state }, p) => list(p, [...state.stores.values()].map(renderStore), 'stores'),
  'catalog.storeproduct.list': ({ state }, p) => list(p, [...state.stock.values()].map(renderStock), 'storeProducts'),
  'catalog.storeproduct.get': ({ state }, p) => {
    const wanted = id(p);
    const row = [...state.stock.values()].find((s) => s.id === wanted);
    if (!row) throw new RestError(400, '0', 'Store product not found');
    return { result: { storeProduct: renderStock(row) } };
  },

  'catalog.document.add': ({ state }, p) => ({ result: { document: renderDocument(state.addDocument(fields(p))) } }),
  'catalog.document.get': ({ state }, p) => ({ result: { document: renderDocument(state.getDocument(id(p))) } }),
  'catalog.document.list': ({ state }, p) => list(p, [...state.documents.values()].map(renderDocument), 'documents'),
  'catalog.document.element.add': ({ state }, p) => ({ result: { documentElement: renderElement(state.addDocumentElement(fields(p))) } }),
  'catalog.document.element.list': ({ state }, p) =>
    list(p, [...state.documents.values()].flatMap((d) => d.elements.map(renderElement)), 'documentElements'),
  'catalog.document.conduct': ({ state }, p) => {
    state.conductDocument(id(p));
    return { result: true };
  },
  'catalog.document.cancel': ({ state }, p) => {
    state.cancelDocument(id(p));
    return { result: true };
  },
  'catalog.document.mode.status': ({ state }) => ({ result: YN(state.inventoryAccounting) }),

  'event.bind': ({ state, applicationToken }, p) => {
    const event = text(p, 'event');
    const handler = text(p, 'handler');
    state.addEventHandler({ event, handler, applicationToken });
    return { result: true };
  },
  'event.unbind': ({ state }, p) => {
    const handler = typeof p.handler === 'string' && p.handler !== '' ? p.handler : undefined;
    return { result: { count: state.removeEventHandler(text(p, 'event'), handler) } };
  },
  'event.get': ({ state }) => ({
    result: [...state.eventHandlers.values()].map((h) => ({ event: h.event, handler: h.handler, auth_type: '0', offline: 0 })),
  }),

  'crm.deal.update': ({ state }, p) => {
    const deal = state.deals.get(int(p.id ?? p.ID, 'id'));
    if (!deal) throw new RestError(400, '', 'Not found');
    const f = (p.fields ?? p.FIELDS) as Params | undefined;
    if (f && typeof f.STAGE_ID === 'string') deal.stageId = f.STAGE_ID;
    return { result: true };
  },
  'crm.item.update': ({ state }, p) => {
    if (String(p.entityTypeId) !== '2') throw new RestError(400, 'NOT_FOUND', 'Only deals (entityTypeId 2) are simulated');
    const deal = state.deals.get(id(p));
    if (!deal) throw new RestError(400, 'NOT_FOUND', 'Element not found');
    const f = fields(p);
    if (typeof f.stageId === 'string') deal.stageId = f.stageId;
    return { result: { item: { id: deal.id, title: deal.title, stageId: deal.stageId, entityTypeId: 2 } } };
  },
  'crm.orderentity.list': ({ state }, p) =>
    list(p, [...state.deals.values()].flatMap((d) => d.orderIds.map((orderId) => ({ orderId, ownerId: d.id, ownerTypeId: 2 }))), 'orderEntity', 'orderId'),

  'im.notify.system.add': ({ state }, p) => {
    const userId = p.USER_ID ?? p.user_id;
    if (userId === undefined || userId === null || userId === '') throw new RestError(400, 'USER_ID_EMPTY', 'Recipient is not specified');
    const message = p.MESSAGE ?? p.message;
    if (typeof message !== 'string' || message.trim() === '') throw new RestError(400, 'MESSAGE_EMPTY', 'Message text is empty');
    const opt = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const n = state.addNotification({ userId: int(userId, 'USER_ID'), message, tag: opt(p.TAG ?? p.tag), subTag: opt(p.SUB_TAG ?? p.sub_tag) });
    return { result: n.id };
  },

  // Since crm 23.100.0 only the lower-case `fields` key is accepted.
  'crm.timeline.comment.add': ({ state, userId }, p) => {
    const f = fields(p);
    const entityType = String(f.ENTITY_TYPE ?? '').toLowerCase();
    if (!['lead', 'deal', 'contact', 'company', 'order'].includes(entityType)) throw new RestError(400, 'ERROR_ARGUMENT', 'ENTITY_TYPE is not specified or not supported');
    if (f.ENTITY_ID === undefined || f.ENTITY_ID === '') throw new RestError(400, 'ERROR_ARGUMENT', 'ENTITY_ID is not specified');
    const comment = typeof f.COMMENT === 'string' ? f.COMMENT : '';
    if (comment.trim() === '') throw new RestError(400, 'ERROR_ARGUMENT', 'COMMENT is empty');
    return { result: state.addTimelineComment({ entityType, entityId: int(f.ENTITY_ID, 'ENTITY_ID'), comment, authorId: userId ?? 1 }).id };
  },
  'crm.timeline.comment.list': ({ state }, p) => {
    const filter = (p.filter ?? {}) as Params;
    if (filter.ENTITY_ID === undefined || !filter.ENTITY_TYPE) throw new RestError(400, 'ERROR_ARGUMENT', 'ENTITY_ID and ENTITY_TYPE are required in the filter');
    const entityId = int(filter.ENTITY_ID, 'ENTITY_ID');
    const entityType = String(filter.ENTITY_TYPE).toLowerCase();
    const rows = [...state.timelineComments.values()]
      .filter((c) => c.entityId === entityId && c.entityType === entityType)
      .map((c) => ({ ID: String(c.id), CREATED: c.created, ENTITY_ID: String(c.entityId), ENTITY_TYPE: c.entityType, AUTHOR_ID: String(c.authorId), COMMENT: c.comment, FILES: null }));
    // crm lists answer a bare array, pages of 50.
    const start = Math.max(0, Number(p.start ?? 0) || 0);
    const next = start + PAGE < rows.length ? start + PAGE : undefined;
    return { result: rows.slice(start, start + PAGE), total: rows.length, ...(next !== undefined ? { next } : {}) };
  },

  batch: runBatch,
};

function runBatch(ctx: MethodContext, p: Params): MethodResult {
  const cmd = p.cmd;
  if (!cmd || typeof cmd !== 'object') throw missingParam('cmd');
  const entries: [string, unknown][] = Array.isArray(cmd) ? cmd.map((c, i) => [String(i), c]) : Object.entries(cmd);
  if (entries.length > BATCH_LIMIT) throw new RestError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', `Max batch length exceeded ${BATCH_LIMIT}`);
  const halt = ['1', 'true', 'Y'].includes(String(p.halt));
  const results: Row = {};
  const errors: Row = {};
  const totals: Row = {};
  const nexts: Row = {};
  const times: Row = {};
  for (const [key, command] of entries) {
    const started = Date.now();
    const [path = '', q = ''] = String(command).split(/\?(.*)/s);
    const method = path.replace(/\.json$/, '').toLowerCase();
    ctx.count(`batch:${method}`);
    try {
      if (method === 'batch') throw new RestError(400, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage');
      const handler = methods[method];
      if (!handler) throw new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
      checkScope(ctx, method);
      const out = handler(ctx, resolveRefs(parsePhpQuery(q), results) as Params);
      results[key] = out.result;
      if (out.total !== undefined) totals[key] = out.total;
      if (out.next !== undefined) nexts[key] = out.next;
      times[key] = timeBlock(started);
    } catch (e) {
      if (!(e instanceof RestError)) throw e;
      errors[key] = { error: e.code, error_description: e.description };
      if (halt) break;
    }
  }
  // PHP prints an empty associative array as [].
  const php = (o: Row) => (Object.keys(o).length ? o : []);
  return { result: { result: php(results), result_error: php(errors), result_total: php(totals), result_next: php(nexts), result_time: php(times) } };
}

const REF = /\$result\[([^\]]+)\]((?:\[[^\]]*\])*)/g;

/** Replaces `$result[key][field]...` with what an earlier command of the batch answered. */
function resolveRefs(value: unknown, results: Row): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, results));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, results)]));
  }
  if (typeof value !== 'string' || !value.includes('$result[')) return value;
  const lookup = (key: string, rest: string): unknown => {
    let cur: unknown = results[key];
    for (const m of rest.matchAll(/\[([^\]]*)\]/g)) {
      cur = cur && typeof cur === 'object' ? (cur as Row)[m[1]!] : undefined;
    }
    return cur;
  };
  const whole = new RegExp(`^${REF.source}$`).exec(value);
  if (whole) {
    const found = lookup(whole[1]!, whole[2] ?? '');
    return found === undefined ? value : found;
  }
  return value.replace(REF, (m, key: string, rest: string) => {
    const found = lookup(key, rest);
    return found === undefined || typeof found === 'object' ? m : String(found);
  });
}

export function timeBlock(startedMs: number): Row {
  const finished = Date.now();
  return {
    start: startedMs / 1000,
    finish: finished / 1000,
    duration: (finished - startedMs) / 1000,
    processing: (finished - startedMs) / 1000,
    date_start: bitrixDate(startedMs),
    date_finish: bitrixDate(finished),
    operating_reset_at: Math.floor(finished / 1000) + 600,
    operating: 0,
  };
}

function id(p: Params): number {
  if (p.id === undefined || p.id === null || p.id === '') throw missingParam('id');
  return int(p.id, 'id');
}

function fields(p: Params): Params {
  const f = p.fields;
  if (!f || typeof f !== 'object' || Array.isArray(f) || Object.keys(f).length === 0) throw missingParam('fields');
  return f as Params;
}

function text(p: Params, name: string): string {
  const v = p[name];
  if (typeof v !== 'string' || v === '') throw missingParam(name);
  return v;
}

function list(p: Params, rows: Row[], key: string, idField = 'id'): MethodResult {
  const all = query(p, rows, idField);
  const start = Number(p.start ?? 0);
  // start=-1 skips counting: no total, no next.
  if (start === -1) return { result: { [key]: all.slice(0, PAGE) } };
  const from = Number.isSafeInteger(start) && start > 0 ? start : 0;
  const next = from + PAGE < all.length ? from + PAGE : undefined;
  return { result: { [key]: all.slice(from, from + PAGE) }, total: all.length, ...(next !== undefined ? { next } : {}) };
}

function query(p: Params, rows: Row[], idField: string): Row[] {
  let out = rows;
  const filter = p.filter;
  if (filter && typeof filter === 'object' && !Array.isArray(filter)) {
    for (const [rawKey, expected] of Object.entries(filter)) {
      const { op, field } = splitFilterKey(rawKey);
      out = out.filter((row) => matches(op, field, lookup(row, field), expected));
    }
  }
  const order = p.order && typeof p.order === 'object' && Object.keys(p.order).length ? (p.order as Row) : { [idField]: 'asc' };
  const keys = Object.entries(order).map(([f, dir]) => ({ f, desc: String(dir).toLowerCase() === 'desc' }));
  out = [...out].sort((a, b) => {
    for (const { f, desc } of keys) {
      const c = compare(lookup(a, f), lookup(b, f));
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
  const select = Array.isArray(p.select) ? (p.select as unknown[]).map(String).filter((s) => s !== '*') : [];
  if (select.length) {
    out = out.map((row) => {
      const picked: Row = {};
      for (const f of select) {
        const k = Object.keys(row).find((rk) => rk.toLowerCase() === f.toLowerCase());
        if (k) picked[k] = row[k];
      }
      return picked;
    });
  }
  return out;
}

const OPS = ['!=%', '=%', '!%', '>=', '<=', '!@', '!=', '>', '<', '@', '=', '%', '!'] as const;
type Op = (typeof OPS)[number] | '';

function splitFilterKey(key: string): { op: Op; field: string } {
  const op = OPS.find((o) => key.startsWith(o)) ?? '';
  return { op, field: key.slice(op.length) };
}

function lookup(row: Row, field: string): unknown {
  if (field in row) return row[field];
  const k = Object.keys(row).find((rk) => rk.toLowerCase() === field.toLowerCase());
  if (k === undefined) throw new RestError(400, 0, `Unknown field ${field}`);
  return row[k];
}

function matches(op: Op, field: string, actual: unknown, expected: unknown): boolean {
  const list = Array.isArray(expected) ? expected : typeof expected === 'object' && expected ? Object.values(expected) : [expected];
  const like = (pattern: string) =>
    new RegExp(`^${pattern.split('%').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i').test(String(actual ?? ''));
  switch (op) {
    case '':
    case '=':
    case '@':
      return list.some((e) => compare(actual, e) === 0);
    case '!':
    case '!=':
    case '!@':
      return !list.some((e) => compare(actual, e) === 0);
    case '>':
      return compare(actual, expected) > 0;
    case '>=':
      return compare(actual, expected) >= 0;
    case '<':
      return compare(actual, expected) < 0;
    case '<=':
      return compare(actual, expected) <= 0;
    case '%':
      return String(actual ?? '').toLowerCase().includes(String(expected).toLowerCase());
    case '!%':
      return !String(actual ?? '').toLowerCase().includes(String(expected).toLowerCase());
    case '=%':
      return like(String(expected));
    case '!=%':
      return !like(String(expected));
    default:
      throw new RestError(400, 0, `Unsupported filter on ${field}`);
  }
}

function compare(a: unknown, b: unknown): number {
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : null);
  const day = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : null);
  const na = num(a);
  const nb = num(b);
  if (na !== null && nb !== null) return na - nb;
  const da = day(a);
  const db = day(b);
  if (da !== null && db !== null && !Number.isNaN(da) && !Number.isNaN(db)) return da - db;
  const sa = a === null || a === undefined ? '' : String(a);
  const sb = b === null || b === undefined ? '' : String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function renderOrderHeader(o: SimOrder): Row {
  const taxValue = o.basketItems.reduce((sum, b) => {
    if (!b.vatRate) return sum;
    const line = lineTotal(b.price, b.quantity);
    return sum + Math.round(b.vatIncluded ? (line * b.vatRate) / (1 + b.vatRate) : line * b.vatRate);
  }, 0);
  return {
    accountNumber: o.accountNumber,
    additionalInfo: '',
    affiliateId: null,
    canceled: YN(o.canceled),
    comments: o.comments,
    companyId: 0,
    currency: o.currency,
    dateCanceled: o.dateCanceled,
    dateInsert: o.dateInsert,
    dateStatus: o.dateStatus,
    dateUpdate: o.dateUpdate,
    deducted: YN(o.deducted),
    discountValue: 0,
    externalOrder: 'N',
    id: o.id,
    id1c: '',
    lid: o.lid,
    marked: 'N',
    payed: YN(o.payed),
    personTypeId: o.personTypeId,
    price: rub(orderPrice(o)),
    reasonCanceled: o.reasonCanceled,
    recountFlag: 'Y',
    responsibleId: o.responsibleId,
    statusId: o.statusId,
    taxValue: rub(taxValue),
    updated1c: 'N',
    userDescription: '',
    userId: o.userId,
    version: 1,
    xmlId: o.xmlId,
  };
}

export function renderOrder(state: BitrixSimState, o: SimOrder): Row {
  return {
    ...renderOrderHeader(o),
    basketItems: o.basketItems.map((b) => ({
      barcodeMulti: 'N',
      basePrice: rub(b.basePrice),
      canBuy: 'Y',
      currency: o.currency,
      customPrice: 'N',
      dateInsert: o.dateInsert,
      dateUpdate: o.dateUpdate,
      discountPrice: rub(b.basePrice - b.price),
      id: String(b.id),
      lid: o.lid,
      measureCode: b.measureCode,
      measureName: b.measureName,
      module: 'catalog',
      name: b.name,
      orderId: String(o.id),
      price: rub(b.price),
      productId: b.productId,
      productXmlId: String(b.productId),
      properties: [],
      quantity: b.quantity,
      reservations: b.reservations.map((r) => ({
        basketId: b.id,
        dateReserve: o.dateInsert,
        dateReserveEnd: null,
        id: r.id,
        quantity: r.quantity,
        reservedBy: null,
        storeId: r.storeId,
      })),
      sort: 100,
      type: '',
      vatIncluded: YN(b.vatIncluded),
      vatRate: b.vatRate,
      weight: 0,
      xmlId: b.xmlId,
    })),
    clients: [],
    payments: o.payments.map((p) => renderPayment(state, o, p)),
    propertyValues: o.propertyValues.map((v, i) => ({ code: v.code, id: v.id, name: v.name, orderPropsId: 20 + i, orderPropsXmlId: null, value: v.value })),
    shipments: o.shipments.map((s) => renderShipment(o, s)),
  };
}

function renderPayment(state: BitrixSimState, o: SimOrder, p: SimPayment): Row {
  const ps = state.paySystems.get(p.paySystemId);
  return {
    accountNumber: p.accountNumber,
    comments: p.comments,
    companyId: 0,
    currency: o.currency,
    dateBill: p.dateBill,
    dateMarked: null,
    datePaid: p.datePaid,
    datePayBefore: null,
    empPaidId: null,
    empReturnId: null,
    externalPayment: 'N',
    id: p.id,
    id1c: '',
    isReturn: p.isReturn,
    marked: 'N',
    orderId: o.id,
    paid: YN(p.paid),
    payReturnComment: p.payReturnComment,
    payReturnDate: p.payReturnDate,
    payReturnNum: p.payReturnNum,
    paySystemId: p.paySystemId,
    paySystemIsCash: YN(ps?.isCash ?? false),
    paySystemName: ps?.name ?? '',
    paySystemXmlId: '',
    payVoucherDate: null,
    payVoucherNum: '',
    priceCod: '0',
    psCurrency: p.psCurrency ?? '',
    psInvoiceId: p.psInvoiceId,
    psResponseDate: p.psResponseDate,
    psStatus: p.psStatus ?? '',
    psStatusCode: p.psStatusCode ?? '',
    psStatusDescription: p.psStatusDescription ?? '',
    psStatusMessage: p.psStatusMessage ?? '',
    psSum: p.psSum === null ? null : rub(p.psSum),
    reasonMarked: '',
    responsibleId: null,
    sum: rub(p.sum),
    updated1c: 'N',
    version1c: '',
    xmlId: p.xmlId,
  };
}

function renderShipment(o: SimOrder, s: SimShipment): Row {
  return {
    accountNumber: s.accountNumber,
    allowDelivery: YN(s.allowDelivery),
    basePriceDelivery: rub(s.priceDelivery),
    canceled: 'N',
    comments: s.comments,
    companyId: 0,
    currency: o.currency,
    customPriceDelivery: 'N',
    dateAllowDelivery: null,
    dateCanceled: null,
    dateDeducted: s.dateDeducted,
    dateInsert: s.dateInsert,
    deducted: YN(s.deducted),
    deliveryDocDate: null,
    deliveryDocNum: '',
    deliveryId: s.deliveryId,
    deliveryName: s.deliveryName,
    deliveryXmlId: '',
    discountPrice: 0,
    externalDelivery: 'N',
    id: s.id,
    id1c: '',
    marked: 'N',
    orderId: o.id,
    priceDelivery: rub(s.priceDelivery),
    reasonUndoDeducted: '',
    responsibleId: null,
    shipmentItems: s.items.map((i) => ({
      basketId: i.basketId,
      dateInsert: s.dateInsert,
      id: i.id,
      orderDeliveryId: s.id,
      quantity: i.quantity,
      reservedQuantity: s.deducted ? 0 : i.quantity,
      xmlId: '',
    })),
    statusId: s.statusId,
    statusXmlId: '',
    system: YN(s.system),
    trackingNumber: '',
    updated1c: 'N',
    version1c: '',
    xmlId: s.xmlId,
  };
}

function renderStore(s: SimStore): Row {
  return { active: YN(s.active), address: s.address, code: s.code, id: s.id, sort: s.sort, title: s.title, xmlId: s.xmlId };
}

function renderStock(s: SimStock): Row {
  return { amount: s.amount, id: s.id, productId: s.productId, quantityReserved: s.quantityReserved, storeId: s.storeId };
}

function renderDocument(d: SimDocument): Row {
  const total = d.elements.reduce((sum, e) => sum + (e.purchasingPrice === null ? 0 : lineTotal(e.purchasingPrice, e.amount)), 0);
  return {
    commentary: d.commentary,
    createdBy: d.responsibleId,
    currency: d.currency,
    dateCreate: d.dateCreate,
    dateDocument: d.dateCreate,
    dateModify: d.dateModify,
    dateStatus: d.dateStatus,
    docNumber: null,
    docType: d.docType,
    id: d.id,
    modifiedBy: d.responsibleId,
    responsibleId: d.responsibleId,
    status: d.status,
    statusBy: d.dateStatus === null ? null : d.responsibleId,
    title: d.title,
    total: rub(total),
  };
}

function renderElement(e: SimDocumentElement): Row {
  return {
    amount: e.amount,
    docId: e.docId,
    elementId: e.elementId,
    id: e.id,
    purchasingPrice: e.purchasingPrice === null ? null : rub(e.purchasingPrice),
    storeFrom: e.storeFrom,
    storeTo: e.storeTo,
  };
}
