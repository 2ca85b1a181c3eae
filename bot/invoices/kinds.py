"""Invoice kinds, the extra field verification needs for each, and code tables."""

from enum import StrEnum


class Kind(StrEnum):
    SPECIAL = "special"
    ORDINARY = "ordinary"
    ELECTRONIC_SPECIAL = "electronic_special"
    ELECTRONIC_ORDINARY = "electronic_ordinary"
    ROLL = "roll"
    TOLL = "toll"
    FREIGHT = "freight"
    MOTOR_VEHICLE = "motor_vehicle"
    USED_CAR = "used_car"
    DIGITAL_SPECIAL = "digital_special"
    DIGITAL_ORDINARY = "digital_ordinary"
    DIGITAL = "digital"
    UNKNOWN = "unknown"

    @property
    def is_digital(self) -> bool:
        return self in DIGITAL_KINDS


DIGITAL_KINDS = frozenset({Kind.DIGITAL, Kind.DIGITAL_SPECIAL, Kind.DIGITAL_ORDINARY})


class ExtraField(StrEnum):
    """The field verification needs besides code, number and date."""

    CHECK_CODE = "check_code"
    AMOUNT_EXCLUDING_TAX = "amount_excluding_tax"
    TOTAL_INCLUDING_TAX = "total_including_tax"
    VEHICLE_PRICE = "vehicle_price"


EXTRA_FIELD_BY_KIND: dict[Kind, ExtraField] = {
    Kind.SPECIAL: ExtraField.AMOUNT_EXCLUDING_TAX,
    Kind.ELECTRONIC_SPECIAL: ExtraField.AMOUNT_EXCLUDING_TAX,
    # Freight special invoices were verified like special ones (unverified).
    Kind.FREIGHT: ExtraField.AMOUNT_EXCLUDING_TAX,
    Kind.ORDINARY: ExtraField.CHECK_CODE,
    Kind.ELECTRONIC_ORDINARY: ExtraField.CHECK_CODE,
    Kind.ROLL: ExtraField.CHECK_CODE,
    Kind.TOLL: ExtraField.CHECK_CODE,
    Kind.DIGITAL_SPECIAL: ExtraField.TOTAL_INCLUDING_TAX,
    Kind.DIGITAL_ORDINARY: ExtraField.TOTAL_INCLUDING_TAX,
    Kind.DIGITAL: ExtraField.TOTAL_INCLUDING_TAX,
    Kind.MOTOR_VEHICLE: ExtraField.VEHICLE_PRICE,
    # Used-car invoices are checked against the total price (unverified).
    Kind.USED_CAR: ExtraField.TOTAL_INCLUDING_TAX,
}

# Digits 11-12 of a 12-digit code starting with 0.
KIND_BY_12_DIGIT_SUFFIX: dict[str, Kind] = {
    "04": Kind.ORDINARY,
    "05": Kind.ORDINARY,
    "06": Kind.ROLL,
    "07": Kind.ROLL,
    "11": Kind.ELECTRONIC_ORDINARY,
    "12": Kind.TOLL,
    "13": Kind.ELECTRONIC_SPECIAL,
    "17": Kind.USED_CAR,
}

# Digit 8 of a 10-digit code.
KIND_BY_10_DIGIT_TYPE: dict[str, Kind] = {
    "1": Kind.SPECIAL,
    "5": Kind.SPECIAL,
    "3": Kind.ORDINARY,
    "6": Kind.ORDINARY,
    "2": Kind.FREIGHT,
    "7": Kind.FREIGHT,
}

# 12-digit codes starting with 1 that are electronic ordinary invoices by
# exception (e.g. Shenzhen blockchain invoices). Any other 1-prefixed 12-digit
# code is decoded by the same rule, these are the confirmed examples.
ONE_PREFIX_ELECTRONIC_ORDINARY = frozenset(
    {"144031539110", "131001570151", "133011501118", "111001571071"}
)

# Kind codes in the second field of the invoice QR payload.
KIND_BY_QR_CODE: dict[str, Kind] = {
    "01": Kind.SPECIAL,
    "02": Kind.FREIGHT,
    "03": Kind.MOTOR_VEHICLE,
    "04": Kind.ORDINARY,
    "08": Kind.ELECTRONIC_SPECIAL,
    "10": Kind.ELECTRONIC_ORDINARY,
    "11": Kind.ROLL,
    "14": Kind.TOLL,
    "31": Kind.DIGITAL_SPECIAL,
    "32": Kind.DIGITAL_ORDINARY,
}
