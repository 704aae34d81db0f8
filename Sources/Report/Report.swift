// Module Report.
