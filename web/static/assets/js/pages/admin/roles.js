// Who may do what in the back office. The same lists as x-roles and
// x-field-roles in api/openapi.yaml, which the API enforces: a page shows a
// button only to the roles its API call lets through (web/pages_test.go checks
// that both say the same). Operations absent here are open to every staff role.

export const ROLES = {
  // Money: the régisseur (finance) and admins.
  deskPayment: ['finance', 'admin'],
  adjustment: ['finance', 'admin'],
  staffFamilyInvoices: ['finance', 'admin'],
  adminInvoicePDF: ['finance', 'admin'],
  startInvoiceRun: ['finance', 'admin'],
  listInvoiceRuns: ['finance', 'admin'],
  getInvoiceRun: ['finance', 'admin'],
  exportMonth: ['finance', 'admin'],
  putAttendanceRule: ['finance', 'admin'],
  // Services' rules, the calendar, staff, settings and the audit log: admins.
  createService: ['admin'],
  patchService: ['admin'],
  generateServiceDays: ['admin'],
  createClosure: ['admin'],
  deleteClosure: ['admin'],
  listStaffUsers: ['admin'],
  createStaffUser: ['admin'],
  patchStaffUser: ['admin'],
  staffUserLink: ['admin'],
  getOrg: ['admin'],
  patchOrg: ['admin'],
  auditLog: ['admin'],
};

// Fields of an operation reserved to fewer roles than the operation itself.
export const FIELD_ROLES = {
  'patchStaffFamily.qf': ['finance', 'admin'],
  'staffCancelReservation.credit_past_deadline': ['finance', 'admin'],
};
