"""orderUpdate overwrites; tagsAdd / tagsRemove have set semantics."""

from __future__ import annotations

import pytest
from sandbox_kit import gid

UPDATE = """
mutation OrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { id note email tags shippingAddress { firstName address1 city provinceCode
      province countryCodeV2 country zip } }
    userErrors { field message }
  }
}"""

TAGS_ADD = """mutation TagsAdd($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) {
  node { id ... on Order { tags } ... on Customer { tags } } userErrors { field message } } }"""
TAGS_REMOVE = TAGS_ADD.replace("tagsAdd", "tagsRemove").replace("TagsAdd", "TagsRemove")


def test_order_update_overwrites_note_tags_and_address(sandbox, store):
    """Given fields replace the old values; the old address is gone, not merged."""
    order = store.add_order(note="old", tags=["gift", "vip"], shipping_address={
        "first_name": "Ada", "address1": "1 Old Rd", "address2": "Apt 4", "city": "Boston",
        "province_code": "MA", "country_code": "US", "zip": "02108"})
    result = sandbox.gql(UPDATE, {"input": {
        "id": gid("Order", order.id), "note": "new", "tags": ["rush"],
        "shippingAddress": {"firstName": "Ada", "address1": "9 New St", "city": "Toronto",
                            "provinceCode": "ON", "countryCode": "CA", "zip": "M5V 2T6"}}})
    updated = result["orderUpdate"]["order"]
    assert result["orderUpdate"]["userErrors"] == []
    assert updated["note"] == "new" and updated["tags"] == ["rush"]
    assert updated["shippingAddress"] == {
        "firstName": "Ada", "address1": "9 New St", "city": "Toronto", "provinceCode": "ON",
        "province": "Ontario", "countryCodeV2": "CA", "country": "Canada", "zip": "M5V 2T6"}
    assert order.shipping_address.address2 is None


def test_order_update_leaves_fields_it_was_not_given(sandbox, store):
    """Only the fields in the input change."""
    order = store.add_order(note="keep me", tags=["a"], email="x@example.com")
    result = sandbox.gql(UPDATE, {"input": {"id": gid("Order", order.id), "tags": []}})
    assert result["orderUpdate"]["order"]["note"] == "keep me"
    assert result["orderUpdate"]["order"]["tags"] == []


def test_order_update_of_unknown_order_is_a_user_error(sandbox):
    """Unknown id: order null and a userError on id."""
    result = sandbox.gql(UPDATE, {"input": {"id": gid("Order", 1), "note": "x"}})
    assert result["orderUpdate"] == {"order": None, "userErrors": [
        {"field": ["id"], "message": "Order does not exist"}]}


def test_order_update_refuses_an_invalid_email(sandbox, store):
    """An email without @ is refused."""
    order = store.add_order()
    result = sandbox.gql(UPDATE, {"input": {"id": gid("Order", order.id), "email": "nope"}})
    assert result["orderUpdate"]["userErrors"][0]["field"] == ["email"]


def test_address_change_is_allowed_after_fulfillment(sandbox, store):
    """Shopify accepts a new address on a fulfilled order (taxes are not recalculated)."""
    order = store.add_order(tax_rate="0.1")
    store.fulfill(order, company="UPS", number="1Z999AA10123456784")
    result = sandbox.gql(UPDATE, {"input": {"id": gid("Order", order.id), "shippingAddress": {
        "address1": "2 Elm St", "city": "Denver", "countryCode": "US", "provinceCode": "CO"}}})
    assert result["orderUpdate"]["userErrors"] == []
    assert order.total_tax == 1  # unchanged


@pytest.mark.parametrize("kind", ["Order", "Customer"])
def test_tags_add_is_a_set_union(sandbox, store, kind):
    """Existing tags stay, duplicates (any case) are not added twice, comma lists split."""
    target = (store.add_order(tags=["gift"]) if kind == "Order"
              else store.add_customer(first_name="Bo", tags=["gift"]))
    result = sandbox.gql(TAGS_ADD, {"id": gid(kind, target.id),
                                    "tags": ["GIFT", "vip, rush", "vip"]})
    assert result["tagsAdd"] == {"node": {"id": gid(kind, target.id),
                                          "tags": ["gift", "rush", "vip"]}, "userErrors": []}


@pytest.mark.parametrize("kind", ["Order", "Customer"])
def test_tags_remove_removes_only_the_given_tags(sandbox, store, kind):
    """Removing absent tags is fine; matching ignores case."""
    target = (store.add_order(tags=["gift", "vip"]) if kind == "Order"
              else store.add_customer(first_name="Bo", tags=["gift", "vip"]))
    result = sandbox.gql(TAGS_REMOVE, {"id": gid(kind, target.id),
                                       "tags": ["VIP", "never-there"]})
    assert result["tagsRemove"]["node"]["tags"] == ["gift"]


def test_tags_on_an_unknown_resource_are_a_user_error(sandbox):
    """An id the shop does not have: node null and a userError on id."""
    result = sandbox.gql(TAGS_ADD, {"id": gid("Order", 5), "tags": ["x"]})
    assert result["tagsAdd"]["node"] is None
    assert result["tagsAdd"]["userErrors"][0]["field"] == ["id"]


def test_unimplemented_mutations_say_so(sandbox):
    """A valid mutation the sandbox does not model fails loudly instead of faking success."""
    errors = sandbox.errors("""mutation { orderMarkAsPaid(input: {id: "gid://shopify/Order/1"})
      { userErrors { message } } }""")
    assert errors[0]["extensions"]["code"] == "SANDBOX_UNSUPPORTED"
