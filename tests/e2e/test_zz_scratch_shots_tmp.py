from test_refund_from_card import *  # noqa

def test_shots(framed):
    frame, page, order, errors, keys, sandbox = framed
    row = frame.locator(f"#sc-order-{order.id}")
    row.locator("[data-order-detail]").wait_for()
    row.locator('[data-action-open="refund"]').click()
    panel = row.locator('[data-action-panel="refund"]')
    panel.locator(f'[data-refund-line="{order.lines[0].id}"] [data-step="1"]').click()
    panel.screenshot(path="/tmp/shot_refund_form.png")
    panel.get_by_role("button", name="Review").click()
    panel.locator('[data-preview="refund"]').wait_for()
    panel.screenshot(path="/tmp/shot_refund_review.png")
    panel.locator("[data-confirm]").click()
    row.locator("[data-action-succeeded]").wait_for()
    row.screenshot(path="/tmp/shot_refund_done.png")
    for name in ["cancel", "update_shipping_address", "edit_tags", "edit_note"]:
        b = row.locator(f'[data-action-open="{name}"]')
        if b.count():
            b.click()
            row.locator(f'[data-action-panel="{name}"]').screenshot(path=f"/tmp/shot_{name}.png")
    print("scrollWidth", frame.locator("body").evaluate("b => document.documentElement.scrollWidth"))
    print(errors)
