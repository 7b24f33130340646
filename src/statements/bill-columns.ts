import { z } from "zod";

/*
 * Which column of the Marketplace's exported bill detail (账单管理 > 详情 > 导出) holds what the reconciliation reads.
 * The export's headers are not documented: the defaults are a best reading of the seller centre's Chinese headers,
 * each a list of candidates (the first one present in the file is used). BILL_COLUMNS (JSON) overrides any of them
 * with the header text of the seller's own export: {"orderId": "订单号", "amount": "应付金额"}.
 */

export const BILL_FIELDS = ["orderId", "orderLineId", "amount", "instanceId", "usage"] as const;
export type BillField = (typeof BILL_FIELDS)[number];
export type BillColumns = Record<BillField, readonly string[]>;

export const DEFAULT_BILL_COLUMNS: BillColumns = {
  orderId: ["订单号", "订单ID", "订单编号"],
  orderLineId: ["订单行ID", "订单行号", "订单明细ID"],
  amount: ["实付金额", "应付金额", "金额"],
  instanceId: ["实例ID", "资源ID"],
  usage: ["使用量", "用量"],
};

const headerText = z.string().trim().min(1, "names an empty header");

/** BILL_COLUMNS: a JSON object of field → header text (or a list of them); unset fields keep their defaults. */
export const billColumnsSetting = z
  .string()
  .optional()
  .transform((value, context): BillColumns => {
    if (value === undefined) return DEFAULT_BILL_COLUMNS;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      context.addIssue({ code: "custom", message: 'must be a JSON object such as {"orderId": "订单号"}' });
      return z.NEVER;
    }
    const result = z
      .object(Object.fromEntries(BILL_FIELDS.map((field) => [field, z.union([headerText, z.array(headerText).min(1)]).optional()])))
      .strict()
      .safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue?.path.length ? ` (${issue.path.join(".")})` : "";
      context.addIssue({ code: "custom", message: `must map ${BILL_FIELDS.join(", ")} to header text${where}: ${issue?.message ?? "invalid"}` });
      return z.NEVER;
    }
    const columns = { ...DEFAULT_BILL_COLUMNS };
    for (const field of BILL_FIELDS) {
      const given = result.data[field];
      if (given !== undefined) columns[field] = typeof given === "string" ? [given] : given;
    }
    return columns;
  });
