/**
 * POS_CONFIG with two companies beside the default one: "north" (store n1) prints through ATOL with its own Evotor
 * account, "south" (store s1) through Ferma on the default Evotor account; d1 is the default company's store.
 */
export const TWO_COMPANIES = `
bitrix:
  posPaySystemIds: [10]
  statuses: { awaitingPayment: WP, paid: P }
companies:
  - id: north
    company: { inn: "7701000001", email: north@example.ru, sno: osn, paymentAddress: "https://north.example.ru" }
    atol: { loginEnv: NORTH_ATOL_LOGIN, passwordEnv: NORTH_ATOL_PASSWORD, groupCodeEnv: NORTH_ATOL_GROUP }
    evotor: { tokenEnv: NORTH_EVOTOR_TOKEN }
  - id: south
    company: { inn: "7802000002", email: south@example.ru, sno: usn_income, paymentAddress: "https://south.example.ru" }
    ferma: { loginEnv: SOUTH_FERMA_LOGIN, passwordEnv: SOUTH_FERMA_PASSWORD }
stores:
  - id: n1
    name: North one
    bitrixStoreId: "1"
    evotorStoreId: e-n1
    evotorDeviceIds: [d-n1]
    fiscalMode: atol
    companyId: north
  - id: s1
    name: South one
    bitrixStoreId: "2"
    evotorStoreId: e-s1
    evotorDeviceIds: [d-s1]
    fiscalMode: ferma
    companyId: south
  - id: d1
    name: Default one
    bitrixStoreId: "3"
    evotorStoreId: e-d1
    evotorDeviceIds: [d-d1]
`;
