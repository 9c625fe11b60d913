import { lineTotal, rublesToKopecks, type Kopecks } from '../../domain/money';

/** An error answer as Bitrix gives it: HTTP status, `error` (string or sale's numeric code), description. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | number,
    readonly description: string,
  ) {
    super(description);
  }
}

const ORDER_NOT_FOUND = 200540400001;
const PAYMENT_NOT_FOUND = 200640400001;
const SHIPMENT_NOT_FOUND = 201140400001;

/** sale's generic "other error" (code 0, HTTP 400). */
const saleError = (description: string) => new RestError(400, 0, description);
/** catalog's generic error ("0" as a string, HTTP 400). */
const catalogError = (description: string) => new RestError(400, '0', description);
export const missingParam = (name: string) => new RestError(400, 100, `Parameter ${name} is not specified`);

export interface SimReservation {
  id: number;
  storeId: number;
  quantity: number;
}

export interface SimBasketItem {
  id: number;
  productId: number;
  name: string;
  price: Kopecks;
  basePrice: Kopecks;
  quantity: number;
  vatRate: number | null;
  vatIncluded: boolean;
  measureCode: string;
  measureName: string;
  xmlId: string;
  reservations: SimReservation[];
}

export interface SimPayment {
  id: number;
  orderId: number;
  accountNumber: string;
  paySystemId: number;
  sum: Kopecks;
  paid: boolean;
  datePaid: string | null;
  dateBill: string;
  psInvoiceId: string | null;
  psStatus: string | null;
  psStatusCode: string | null;
  psStatusDescription: string | null;
  psStatusMessage: string | null;
  psSum: Kopecks | null;
  psCurrency: string | null;
  psResponseDate: string | null;
  isReturn: string;
  payReturnNum: string;
  payReturnDate: string | null;
  payReturnComment: string;
  comments: string;
  xmlId: string;
}

export interface SimShipmentItem {
  id: number;
  basketId: number;
  quantity: number;
  /** Where the stock of this item was written off while the shipment is deducted. */
  deductedFrom: { storeId: number; quantity: number }[];
}

export interface SimShipment {
  id: number;
  orderId: number;
  accountNumber: string;
  deliveryId: number;
  deliveryName: string;
  allowDelivery: boolean;
  deducted: boolean;
  system: boolean;
  statusId: string;
  priceDelivery: Kopecks;
  dateInsert: string;
  dateDeducted: string | null;
  comments: string;
  xmlId: string;
  items: SimShipmentItem[];
}

export interface SimPropertyValue {
  id: number;
  code: string;
  name: string;
  value: string | null;
}

export interface SimOrder {
  id: number;
  accountNumber: string;
  lid: string;
  personTypeId: number;
  userId: number;
  currency: string;
  statusId: string;
  payed: boolean;
  canceled: boolean;
  reasonCanceled: string;
  dateCanceled: string | null;
  deducted: boolean;
  comments: string;
  xmlId: string;
  responsibleId: number | null;
  dateInsert: string;
  dateUpdate: string;
  dateStatus: string;
  basketItems: SimBasketItem[];
  payments: SimPayment[];
  shipments: SimShipment[];
  propertyValues: SimPropertyValue[];
}

export interface SimStore {
  id: number;
  title: string;
  active: boolean;
  address: string;
  code: string | null;
  xmlId: string | null;
  sort: number;
}

export interface SimStock {
  id: number;
  storeId: number;
  productId: number;
  amount: number;
  quantityReserved: number;
}

export type DocType = 'A' | 'S' | 'M' | 'R' | 'D';

export interface SimDocumentElement {
  id: number;
  docId: number;
  elementId: number;
  storeFrom: number | null;
  storeTo: number | null;
  amount: number;
  purchasingPrice: Kopecks | null;
}

export interface SimDocument {
  id: number;
  docType: DocType;
  title: string | null;
  commentary: string | null;
  currency: string;
  responsibleId: number;
  /** N new, Y conducted, C conduct cancelled. */
  status: 'N' | 'Y' | 'C';
  dateCreate: string;
  dateModify: string;
  dateStatus: string | null;
  elements: SimDocumentElement[];
}

export interface SimStatus {
  id: string;
  /** O order status, D delivery status. */
  type: 'O' | 'D';
  sort: number;
  name: string;
  notify: boolean;
}

export interface SimPaySystem {
  id: number;
  name: string;
  active: boolean;
  isCash: boolean;
}

export interface SimEventHandler {
  id: number;
  event: string;
  handler: string;
  applicationToken: string;
}

/** A system notification (im.notify.system.add) as the recipient sees it. */
export interface SimNotification {
  id: number;
  userId: number;
  message: string;
  tag?: string;
  subTag?: string;
  at: string;
}

/** A comment in a CRM item's timeline (crm.timeline.comment.*). */
export interface SimTimelineComment {
  id: number;
  entityType: string;
  entityId: number;
  comment: string;
  authorId: number;
  created: string;
}

export interface SimDeal {
  id: number;
  title: string;
  stageId: string;
  orderIds: number[];
}

export type EmitEvent = (event: string, fields: Record<string, string>) => void;

export interface CreateOrderInput {
  id?: number;
  accountNumber?: string;
  currency?: string;
  statusId?: string;
  userId?: number;
  /** The manager responsible for the order (sale.order.get `responsibleId`); default none. */
  responsibleId?: number;
  xmlId?: string;
  basket: {
    productId: number | string;
    name: string;
    /** Rubles as a number or a string ("1234.50"). */
    price: number | string;
    basePrice?: number | string;
    quantity: number;
    vatRate?: number | null;
    vatIncluded?: boolean;
    measureCode?: string;
    measureName?: string;
    reservations?: { storeId: number | string; quantity: number }[];
  }[];
  /** Default: one unpaid payment over the whole order in the first pay system. */
  payments?: { paySystemId: number | string; sum?: number | string; paid?: boolean; psInvoiceId?: string }[];
  /** Default: one shipment (delivery 1) carrying every basket item. */
  shipments?: { deliveryId?: number | string; system?: boolean; allowDelivery?: boolean; deliveryName?: string }[];
  propertyValues?: { code: string; value: string | null; name?: string }[];
}

const DOC_TYPES: readonly string[] = ['A', 'S', 'M', 'R', 'D'];

/** The portal's data and the rules Bitrix applies to it. REST rendering lives in rest.ts. */
export class BitrixSimState {
  orders = new Map<number, SimOrder>();
  stores = new Map<number, SimStore>();
  stock = new Map<string, SimStock>();
  documents = new Map<number, SimDocument>();
  statuses = new Map<string, SimStatus>();
  paySystems = new Map<number, SimPaySystem>();
  eventHandlers = new Map<number, SimEventHandler>();
  deals = new Map<number, SimDeal>();
  /** Notifications the users have now (a TAG repeated replaces the older one). */
  notifications = new Map<number, SimNotification>();
  /** Every notification ever added, replaced ones included. */
  notificationLog: SimNotification[] = [];
  timelineComments = new Map<number, SimTimelineComment>();
  inventoryAccounting = true;
  /** Told of every payment update with the payment as it was before: the REST cashboxes make checks from it. */
  onPaymentUpdated?: (order: SimOrder, payment: SimPayment, before: Pick<SimPayment, 'paid' | 'isReturn'>) => void;
  private seq: Record<string, number> = {};

  constructor(private readonly emit: EmitEvent = () => {}) {
    this.reset();
  }

  reset(): void {
    this.orders.clear();
    this.stores.clear();
    this.stock.clear();
    this.documents.clear();
    this.statuses.clear();
    this.paySystems.clear();
    this.eventHandlers.clear();
    this.deals.clear();
    this.notifications.clear();
    this.notificationLog = [];
    this.timelineComments.clear();
    this.inventoryAccounting = true;
    // Different ranges per entity, so an order id never passes for an account number by accident.
    this.seq = { order: 200, account: 355, basket: 250, payment: 120, shipment: 330, shipmentItem: 310, reservation: 30, property: 1500, store: 0, stock: 0, document: 0, element: 140, handler: 0, deal: 0, notification: 1700, comment: 900 };
    for (const s of [
      { id: 'N', type: 'O', sort: 100, name: 'Принят, ожидается оплата' },
      { id: 'F', type: 'O', sort: 200, name: 'Выполнен' },
      { id: 'DN', type: 'D', sort: 10, name: 'Ожидает обработки' },
      { id: 'DF', type: 'D', sort: 20, name: 'Отгружен' },
    ] as const) {
      this.statuses.set(s.id, { ...s, notify: true });
    }
    this.addPaySystem({ id: 1, name: 'Наличные', isCash: true });
    this.addPaySystem({ id: 2, name: 'Банковская карта', isCash: false });
    this.addStore({ id: 1, title: 'Основной склад' });
  }

  /** New orders get ids above `n`: the sandbox keeps ids unique across restarts, as a real portal does. */
  startOrderIdsAfter(n: number): void {
    this.seq.order = Math.max(this.seq.order ?? 0, n);
    this.seq.account = Math.max(this.seq.account ?? 0, n);
  }

  private next(kind: string): number {
    this.seq[kind] = (this.seq[kind] ?? 0) + 1;
    return this.seq[kind]!;
  }

  addStore(input: { id?: number; title: string; address?: string; code?: string; xmlId?: string; active?: boolean }): SimStore {
    const id = input.id ?? this.next('store');
    if (input.id !== undefined) this.seq.store = Math.max(this.seq.store ?? 0, input.id);
    const store: SimStore = {
      id,
      title: input.title,
      active: input.active ?? true,
      address: input.address ?? '',
      code: input.code ?? null,
      xmlId: input.xmlId ?? null,
      sort: 100,
    };
    this.stores.set(id, store);
    return store;
  }

  setStock(input: { productId: number | string; storeId: number | string; amount: number; quantityReserved?: number }): SimStock {
    if (!Number.isFinite(input.amount)) throw new RangeError('amount: not a number');
    const row = this.stockRow(int(input.storeId, 'storeId'), int(input.productId, 'productId'));
    row.amount = round(input.amount);
    if (input.quantityReserved !== undefined) row.quantityReserved = round(input.quantityReserved);
    return row;
  }

  addStatus(input: { id: string; type?: 'O' | 'D'; name?: string; sort?: number }): SimStatus {
    const status: SimStatus = { id: input.id, type: input.type ?? 'O', sort: input.sort ?? 150, name: input.name ?? input.id, notify: true };
    this.statuses.set(status.id, status);
    return status;
  }

  addPaySystem(input: { id?: number; name: string; isCash?: boolean; active?: boolean }): SimPaySystem {
    const id = input.id ?? Math.max(0, ...this.paySystems.keys()) + 1;
    const ps: SimPaySystem = { id, name: input.name, active: input.active ?? true, isCash: input.isCash ?? false };
    this.paySystems.set(id, ps);
    return ps;
  }

  addEventHandler(input: { event: string; handler: string; applicationToken: string }): SimEventHandler {
    const event = input.event.toUpperCase();
    for (const h of this.eventHandlers.values()) {
      if (h.event === event && h.handler === input.handler) throw new RestError(400, 'ERROR_EVENT_HANDLER_EXISTS', 'Handler already binded');
    }
    const handler: SimEventHandler = { id: this.next('handler'), event, handler: input.handler, applicationToken: input.applicationToken };
    this.eventHandlers.set(handler.id, handler);
    return handler;
  }

  removeEventHandler(event: string, handler?: string): number {
    let count = 0;
    for (const [id, h] of this.eventHandlers) {
      if (h.event === event.toUpperCase() && (handler === undefined || h.handler === handler)) {
        this.eventHandlers.delete(id);
        count++;
      }
    }
    return count;
  }

  /** Bitrix deletes the notifications that carry the same TAG before it adds the new one ("unique within the system"). */
  addNotification(input: { userId: number; message: string; tag?: string; subTag?: string }): SimNotification {
    if (input.tag) for (const [id, n] of this.notifications) if (n.tag === input.tag) this.notifications.delete(id);
    const n: SimNotification = { id: this.next('notification'), ...input, at: new Date().toISOString() };
    this.notifications.set(n.id, n);
    this.notificationLog.push({ ...n });
    return n;
  }

  addTimelineComment(input: { entityType: string; entityId: number; comment: string; authorId: number }): SimTimelineComment {
    if (input.entityType === 'deal' && !this.deals.has(input.entityId)) throw new RestError(400, 'NOT_FOUND', 'Element not found');
    const c: SimTimelineComment = { id: this.next('comment'), ...input, created: bitrixDate(Date.now()) };
    this.timelineComments.set(c.id, c);
    return c;
  }

  addDeal(input: { id?: number; title?: string; stageId?: string; orderIds?: number[] }): SimDeal {
    const id = input.id ?? this.next('deal');
    const deal: SimDeal = { id, title: input.title ?? `Deal #${id}`, stageId: input.stageId ?? 'NEW', orderIds: input.orderIds ?? [] };
    this.deals.set(id, deal);
    return deal;
  }

  createOrder(input: CreateOrderInput): SimOrder {
    if (!input.basket?.length) throw new RestError(400, 0, 'basket is empty');
    const id = input.id ?? this.next('order');
    if (this.orders.has(id)) throw new RestError(400, 0, `order ${id} exists`);
    if (input.id !== undefined) this.seq.order = Math.max(this.seq.order ?? 0, input.id);
    const accountNumber = input.accountNumber ?? String(this.next('account'));
    const now = nowDate();
    const statusId = input.statusId ?? 'N';
    if (this.statuses.get(statusId)?.type !== 'O') throw new RestError(400, 0, `unknown order status ${statusId}`);
    const basketItems: SimBasketItem[] = input.basket.map((b) => {
      const price = rublesToKopecks(b.price, 'price');
      return {
        id: this.next('basket'),
        productId: int(b.productId, 'productId'),
        name: b.name,
        price,
        basePrice: b.basePrice !== undefined ? rublesToKopecks(b.basePrice, 'basePrice') : price,
        quantity: b.quantity,
        vatRate: b.vatRate === undefined ? 0.22 : b.vatRate,
        vatIncluded: b.vatIncluded ?? true,
        measureCode: b.measureCode ?? '796',
        measureName: b.measureName ?? 'шт',
        xmlId: `bx_${Math.random().toString(16).slice(2, 15)}`,
        reservations: (b.reservations ?? []).map((r) => ({ id: this.next('reservation'), storeId: int(r.storeId, 'storeId'), quantity: r.quantity })),
      };
    });
    const order: SimOrder = {
      id,
      accountNumber,
      lid: 's1',
      personTypeId: 1,
      userId: input.userId ?? 1,
      currency: input.currency ?? 'RUB',
      statusId,
      payed: false,
      canceled: false,
      reasonCanceled: '',
      dateCanceled: null,
      deducted: false,
      comments: '',
      xmlId: input.xmlId ?? '',
      responsibleId: input.responsibleId ?? null,
      dateInsert: now,
      dateUpdate: now,
      dateStatus: now,
      basketItems,
      payments: [],
      shipments: [],
      propertyValues: (input.propertyValues ?? []).map((p) => ({ id: this.next('property'), code: p.code, name: p.name ?? p.code, value: p.value })),
    };
    let subNumber = 0;
    const total = orderPrice(order);
    const firstPaySystem = [...this.paySystems.keys()][0] ?? 1;
    for (const p of input.payments ?? [{ paySystemId: firstPaySystem }]) {
      order.payments.push(
        this.newPayment(order, `${accountNumber}/${++subNumber}`, {
          paySystemId: int(p.paySystemId, 'paySystemId'),
          sum: p.sum !== undefined ? rublesToKopecks(p.sum, 'sum') : total,
          paid: p.paid ?? false,
          psInvoiceId: p.psInvoiceId ?? null,
        }),
      );
    }
    for (const s of input.shipments ?? [{}]) {
      order.shipments.push({
        id: this.next('shipment'),
        orderId: id,
        accountNumber: `${accountNumber}/${++subNumber}`,
        deliveryId: s.deliveryId !== undefined ? int(s.deliveryId, 'deliveryId') : 1,
        deliveryName: s.deliveryName ?? 'Самовывоз',
        allowDelivery: s.allowDelivery ?? false,
        deducted: false,
        system: s.system ?? false,
        statusId: 'DN',
        priceDelivery: 0,
        dateInsert: now,
        dateDeducted: null,
        comments: '',
        xmlId: '',
        items: s.system ? [] : basketItems.map((b) => ({ id: this.next('shipmentItem'), basketId: b.id, quantity: b.quantity, deductedFrom: [] })),
      });
    }
    this.recompute(order);
    this.reserve(order, +1);
    this.orders.set(id, order);
    this.emit('ONSALEORDERSAVED', { ID: String(id), XML_ID: order.xmlId, ACTION: 'save' });
    return order;
  }

  getOrder(id: number): SimOrder {
    const order = this.orders.get(id);
    if (!order) throw new RestError(400, ORDER_NOT_FOUND, 'order does not exist');
    return order;
  }

  updateOrder(id: number, fields: Record<string, unknown>): SimOrder {
    const order = this.getOrder(id);
    const statusId = 'statusId' in fields ? str(fields.statusId) : order.statusId;
    if (this.statuses.get(statusId)?.type !== 'O') throw saleError(`status ${statusId} not found`);
    const canceled = 'canceled' in fields ? yn(fields.canceled, 'canceled') : order.canceled;
    if (canceled && !order.canceled) {
      if (order.payments.some((p) => p.paid)) throw saleError('The order cannot be canceled: it has paid payments');
      if (order.shipments.some((s) => s.deducted)) throw saleError('The order cannot be canceled: it has shipped shipments');
    }
    const responsibleId = 'responsibleId' in fields ? int(fields.responsibleId, 'responsibleId') : order.responsibleId;
    if (statusId !== order.statusId) {
      order.statusId = statusId;
      order.dateStatus = nowDate();
    }
    if (canceled !== order.canceled) {
      // Cancelling releases the order's reservations; restoring books them again.
      this.reserve(order, canceled ? -1 : +1);
      order.canceled = canceled;
      order.dateCanceled = canceled ? nowDate() : null;
    }
    if ('reasonCanceled' in fields) order.reasonCanceled = str(fields.reasonCanceled);
    if ('comments' in fields) order.comments = str(fields.comments);
    if ('xmlId' in fields) order.xmlId = str(fields.xmlId);
    order.responsibleId = responsibleId;
    this.saveOrder(order);
    return order;
  }

  findPayment(id: number): { order: SimOrder; payment: SimPayment } {
    for (const order of this.orders.values()) {
      const payment = order.payments.find((p) => p.id === id);
      if (payment) return { order, payment };
    }
    throw new RestError(400, PAYMENT_NOT_FOUND, 'payment does not exist');
  }

  addPayment(fields: Record<string, unknown>): SimPayment {
    requireFields(fields, ['orderId', 'paySystemId']);
    const order = this.getOrder(int(fields.orderId, 'orderId'));
    const patch = this.paymentPatch(fields);
    const used = [...order.payments, ...order.shipments].map((e) => Number(e.accountNumber.split('/')[1] ?? 0));
    const payment = this.newPayment(order, `${order.accountNumber}/${Math.max(0, ...used) + 1}`, {
      paySystemId: patch.paySystemId!,
      sum: 0,
      paid: false,
      psInvoiceId: null,
    });
    Object.assign(payment, patch);
    order.payments.push(payment);
    this.savePayment(order, payment);
    return payment;
  }

  updatePayment(id: number, fields: Record<string, unknown>): SimPayment {
    requireFields(fields, ['paySystemId']);
    const { order, payment } = this.findPayment(id);
    const before = { paid: payment.paid, isReturn: payment.isReturn };
    Object.assign(payment, this.paymentPatch(fields));
    this.savePayment(order, payment);
    this.onPaymentUpdated?.(order, payment, before);
    return payment;
  }

  findShipment(id: number): { order: SimOrder; shipment: SimShipment } {
    for (const order of this.orders.values()) {
      const shipment = order.shipments.find((s) => s.id === id);
      if (shipment) return { order, shipment };
    }
    throw new RestError(400, SHIPMENT_NOT_FOUND, 'shipment does not exist');
  }

  updateShipment(id: number, fields: Record<string, unknown>): SimShipment {
    requireFields(fields, ['allowDelivery', 'deducted', 'deliveryId']);
    const { order, shipment } = this.findShipment(id);
    const allowDelivery = yn(fields.allowDelivery, 'allowDelivery');
    const deducted = yn(fields.deducted, 'deducted');
    const deliveryId = int(fields.deliveryId, 'deliveryId');
    // Bitrix resets the delivery status to DN when none is given.
    const statusId = 'statusId' in fields ? str(fields.statusId) : 'DN';
    if (this.statuses.get(statusId)?.type !== 'D') throw saleError(`delivery status ${statusId} not found`);
    if (deducted && !shipment.deducted) {
      if (order.canceled) throw saleError('The shipment of a canceled order cannot be shipped');
      this.deductShipment(order, shipment);
    } else if (!deducted && shipment.deducted) {
      this.returnShipment(shipment);
    }
    shipment.allowDelivery = allowDelivery;
    shipment.deliveryId = deliveryId;
    shipment.statusId = statusId;
    if ('comments' in fields) shipment.comments = str(fields.comments);
    if ('xmlId' in fields) shipment.xmlId = str(fields.xmlId);
    this.emit('ONSHIPMENTENTITYSAVED', { ID: String(shipment.id) });
    this.saveOrder(order);
    return shipment;
  }

  stockRow(storeId: number, productId: number): SimStock {
    const key = `${storeId}:${productId}`;
    let row = this.stock.get(key);
    if (!row) {
      row = { id: this.next('stock'), storeId, productId, amount: 0, quantityReserved: 0 };
      this.stock.set(key, row);
    }
    return row;
  }

  getDocument(id: number): SimDocument {
    const doc = this.documents.get(id);
    if (!doc) throw catalogError('Document not found');
    return doc;
  }

  addDocument(fields: Record<string, unknown>): SimDocument {
    requireFields(fields, ['docType', 'currency', 'responsibleId']);
    const docType = str(fields.docType);
    if (!DOC_TYPES.includes(docType)) throw catalogError(`Unknown document type ${docType}`);
    const now = nowDate();
    const doc: SimDocument = {
      id: this.next('document'),
      docType: docType as DocType,
      title: fields.title === undefined ? null : str(fields.title),
      commentary: fields.commentary === undefined ? null : str(fields.commentary),
      currency: str(fields.currency),
      responsibleId: int(fields.responsibleId, 'responsibleId'),
      status: 'N',
      dateCreate: now,
      dateModify: now,
      dateStatus: null,
      elements: [],
    };
    this.documents.set(doc.id, doc);
    return doc;
  }

  addDocumentElement(fields: Record<string, unknown>): SimDocumentElement {
    requireFields(fields, ['docId', 'elementId', 'amount']);
    const doc = this.documents.get(int(fields.docId, 'docId'));
    if (!doc) throw new RestError(400, 'ERROR_DOCUMENT_STATUS', 'Document not found');
    if (doc.status === 'Y') throw new RestError(400, 'ERROR_DOCUMENT_STATUS', 'Conducted document');
    const element: SimDocumentElement = {
      id: this.next('element'),
      docId: doc.id,
      elementId: int(fields.elementId, 'elementId'),
      storeFrom: fields.storeFrom === undefined || fields.storeFrom === null || fields.storeFrom === '' ? null : int(fields.storeFrom, 'storeFrom'),
      storeTo: fields.storeTo === undefined || fields.storeTo === null || fields.storeTo === '' ? null : int(fields.storeTo, 'storeTo'),
      amount: quantity(fields.amount, 'amount'),
      purchasingPrice: fields.purchasingPrice === undefined ? null : money(fields.purchasingPrice, 'purchasingPrice'),
    };
    doc.elements.push(element);
    doc.dateModify = nowDate();
    return element;
  }

  conductDocument(id: number): void {
    if (!this.inventoryAccounting) throw catalogError('Warehouse accounting must be enabled to conduct the document');
    const doc = this.getDocument(id);
    if (doc.status === 'Y') throw catalogError('Document conducting error: the document is already conducted');
    if (doc.elements.length === 0) throw catalogError('Document conducting error: the document has no products');
    const moves = doc.elements.flatMap((e) => this.movesOf(doc, e));
    this.applyMoves(moves, 'Document conducting error');
    doc.status = 'Y';
    doc.dateStatus = doc.dateModify = nowDate();
  }

  cancelDocument(id: number): void {
    if (!this.inventoryAccounting) throw catalogError('Warehouse accounting must be enabled to cancel the document');
    const doc = this.getDocument(id);
    if (doc.status !== 'Y') throw catalogError('Error cancelling document conduct: Document has not been conducted yet');
    const moves = doc.elements.flatMap((e) => this.movesOf(doc, e)).map((m) => ({ ...m, delta: -m.delta }));
    this.applyMoves(moves, 'Error cancelling document conduct');
    doc.status = 'C';
    doc.dateStatus = doc.dateModify = nowDate();
  }

  private paySystemId(value: unknown): number {
    const id = int(value, 'paySystemId');
    if (!this.paySystems.has(id)) throw saleError(`pay system ${id} not found`);
    return id;
  }

  private newPayment(order: SimOrder, accountNumber: string, p: { paySystemId: number; sum: Kopecks; paid: boolean; psInvoiceId: string | null }): SimPayment {
    return {
      id: this.next('payment'),
      orderId: order.id,
      accountNumber,
      paySystemId: p.paySystemId,
      sum: p.sum,
      paid: p.paid,
      datePaid: null,
      dateBill: order.dateInsert,
      psInvoiceId: p.psInvoiceId,
      psStatus: null,
      psStatusCode: null,
      psStatusDescription: null,
      psStatusMessage: null,
      psSum: null,
      psCurrency: null,
      psResponseDate: null,
      isReturn: 'N',
      payReturnNum: '',
      payReturnDate: null,
      payReturnComment: '',
      comments: '',
      xmlId: '',
    };
  }

  /** Validates every field before writing any, so a rejected update leaves the payment as it was. */
  private paymentPatch(fields: Record<string, unknown>): Partial<SimPayment> {
    const patch: Partial<SimPayment> = {};
    if ('paySystemId' in fields) patch.paySystemId = this.paySystemId(fields.paySystemId);
    if ('paid' in fields) patch.paid = yn(fields.paid, 'paid');
    if ('sum' in fields) patch.sum = money(fields.sum, 'sum');
    if ('psSum' in fields) patch.psSum = nullable(fields.psSum, (v) => money(v, 'psSum'));
    for (const key of ['datePaid', 'psResponseDate', 'payReturnDate'] as const) {
      if (key in fields) patch[key] = nullable(fields[key], (v) => date(v, key));
    }
    for (const key of ['psInvoiceId', 'psStatus', 'psStatusCode', 'psStatusDescription', 'psStatusMessage', 'psCurrency'] as const) {
      if (key in fields) patch[key] = nullable(fields[key], str);
    }
    for (const key of ['payReturnNum', 'payReturnComment', 'comments', 'xmlId'] as const) {
      if (key in fields) patch[key] = str(fields[key] ?? '');
    }
    if ('isReturn' in fields) {
      const v = str(fields.isReturn);
      if (!['N', 'Y', 'P'].includes(v)) throw new RestError(400, 'BX_INVALID_VALUE', 'isReturn must be N, Y or P');
      patch.isReturn = v;
    }
    return patch;
  }

  private savePayment(order: SimOrder, payment: SimPayment): void {
    this.emit('ONPAYMENTENTITYSAVED', { ID: String(payment.id) });
    this.saveOrder(order);
  }

  private saveOrder(order: SimOrder): void {
    this.recompute(order);
    order.dateUpdate = nowDate();
    this.emit('ONSALEORDERSAVED', { ID: String(order.id), XML_ID: order.xmlId, ACTION: 'save' });
  }

  private recompute(order: SimOrder): void {
    order.payed = order.payments.length > 0 && order.payments.every((p) => p.paid);
    const real = order.shipments.filter((s) => !s.system);
    order.deducted = real.length > 0 && real.every((s) => s.deducted);
  }

  /** Books (+1) or releases (-1) every reservation of the order at its warehouse. */
  private reserve(order: SimOrder, sign: 1 | -1): void {
    for (const item of order.basketItems) {
      for (const r of item.reservations) {
        const row = this.stockRow(r.storeId, item.productId);
        row.quantityReserved = Math.max(0, round(row.quantityReserved + sign * r.quantity));
      }
    }
  }

  private deductShipment(order: SimOrder, shipment: SimShipment): void {
    const plan: { item: SimShipmentItem; storeId: number; productId: number; quantity: number }[] = [];
    for (const si of shipment.items) {
      const basket = order.basketItems.find((b) => b.id === si.basketId)!;
      let left = si.quantity;
      for (const r of basket.reservations) {
        const take = Math.min(r.quantity, left);
        if (take > 0) plan.push({ item: si, storeId: r.storeId, productId: basket.productId, quantity: take });
        left = round(left - take);
      }
      if (left > 0) throw saleError(`basket item ${basket.id}: no warehouse is reserved for ${left} of ${si.quantity}`);
    }
    const need = new Map<string, number>();
    for (const p of plan) need.set(`${p.storeId}:${p.productId}`, round((need.get(`${p.storeId}:${p.productId}`) ?? 0) + p.quantity));
    for (const [key, q] of need) {
      const row = this.stock.get(key);
      if (!row || row.amount < q) {
        const [storeId, productId] = key.split(':');
        throw saleError(`Insufficient quantity of product ${productId} at warehouse ${storeId}`);
      }
    }
    for (const p of plan) {
      const row = this.stockRow(p.storeId, p.productId);
      row.amount = round(row.amount - p.quantity);
      row.quantityReserved = Math.max(0, round(row.quantityReserved - p.quantity));
      p.item.deductedFrom.push({ storeId: p.storeId, quantity: p.quantity });
    }
    shipment.deducted = true;
    shipment.dateDeducted = nowDate();
  }

  private returnShipment(shipment: SimShipment): void {
    const order = this.getOrder(shipment.orderId);
    for (const si of shipment.items) {
      const basket = order.basketItems.find((b) => b.id === si.basketId)!;
      for (const d of si.deductedFrom) {
        const row = this.stockRow(d.storeId, basket.productId);
        row.amount = round(row.amount + d.quantity);
        row.quantityReserved = round(row.quantityReserved + d.quantity);
      }
      si.deductedFrom = [];
    }
    shipment.deducted = false;
    shipment.dateDeducted = null;
  }

  private movesOf(doc: SimDocument, e: SimDocumentElement): { storeId: number; productId: number; delta: number }[] {
    const store = (id: number | null, role: string): number => {
      if (id === null) throw catalogError(`Document conducting error: ${role} warehouse is not specified for product ${e.elementId}`);
      if (!this.stores.has(id)) throw catalogError(`Document conducting error: warehouse ${id} not found`);
      return id;
    };
    switch (doc.docType) {
      case 'A':
      case 'S':
      case 'R':
        return [{ storeId: store(e.storeTo, 'receiving'), productId: e.elementId, delta: e.amount }];
      case 'D':
        return [{ storeId: store(e.storeFrom, 'source'), productId: e.elementId, delta: -e.amount }];
      case 'M':
        return [
          { storeId: store(e.storeFrom, 'source'), productId: e.elementId, delta: -e.amount },
          { storeId: store(e.storeTo, 'receiving'), productId: e.elementId, delta: e.amount },
        ];
    }
  }

  /** All or nothing: a move that would take a warehouse below zero rejects the whole document. */
  private applyMoves(moves: { storeId: number; productId: number; delta: number }[], prefix: string): void {
    const net = new Map<string, number>();
    for (const m of moves) net.set(`${m.storeId}:${m.productId}`, round((net.get(`${m.storeId}:${m.productId}`) ?? 0) + m.delta));
    for (const [key, delta] of net) {
      const have = this.stock.get(key)?.amount ?? 0;
      if (have + delta < 0) {
        const [storeId, productId] = key.split(':');
        throw catalogError(`${prefix}: insufficient quantity of product ${productId} at warehouse ${storeId}`);
      }
    }
    for (const [key, delta] of net) {
      const [storeId, productId] = key.split(':').map(Number) as [number, number];
      const row = this.stockRow(storeId, productId);
      row.amount = round(row.amount + delta);
    }
  }
}

export function orderPrice(order: SimOrder): Kopecks {
  const goods = order.basketItems.reduce((sum, b) => sum + lineTotal(b.price, b.quantity), 0);
  return goods + order.shipments.reduce((sum, s) => sum + s.priceDelivery, 0);
}

/** Bitrix renders dates with the portal's offset; the simulator's portal lives in Moscow time. */
export function bitrixDate(ms: number): string {
  return `${new Date(ms + 3 * 3600_000).toISOString().slice(0, 19)}+03:00`;
}

function nowDate(): string {
  return bitrixDate(Date.now());
}

function requireFields(fields: Record<string, unknown>, names: string[]): void {
  const missing = names.filter((n) => fields[n] === undefined || fields[n] === null || fields[n] === '');
  if (missing.length) throw new RestError(400, 0, `Required fields: ${missing.join(', ')}`);
}

export function int(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  throw new RestError(400, 'BX_INVALID_VALUE', `${name}: not an id`);
}

function yn(value: unknown, name: string): boolean {
  if (value === 'Y') return true;
  if (value === 'N') return false;
  throw new RestError(400, 'BX_INVALID_VALUE', `${name}: expected Y or N`);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
}

function money(value: unknown, name: string): Kopecks {
  if (typeof value !== 'number' && typeof value !== 'string') throw new RestError(400, 'BX_INVALID_VALUE', `${name}: not an amount`);
  try {
    return rublesToKopecks(value, name);
  } catch {
    throw new RestError(400, 'BX_INVALID_VALUE', `${name}: not an amount`);
  }
}

function quantity(value: unknown, name: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new RestError(400, 'BX_INVALID_VALUE', `${name}: not a positive quantity`);
  return round(n);
}

function date(value: unknown, name: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new RestError(400, 'BX_INVALID_VALUE', `${name}: not a date`);
  return bitrixDate(ms);
}

function nullable<T>(value: unknown, f: (v: unknown) => T): T | null {
  return value === null || value === '' ? null : f(value);
}

/** Quantities carry at most 3 decimals (grams); keep float noise out of stock. */
function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
