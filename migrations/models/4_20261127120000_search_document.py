"""Full-text search reads a stored document: ``content.search_document``, a generated
``tsvector`` of title and summary, with a GIN index. Matching and ranking read the stored vector
instead of computing it again for every matching row (an index finds the rows, but ``ts_rank``
needs each one's vector); migration 2's expression index then serves no query and is dropped.

Adding a stored generated column rewrites the table under an exclusive lock, which content (a
catalogue of thousands of rows) takes in well under a second. The index is then built
CONCURRENTLY, one statement at a time outside a transaction, as in migration 2. Aerich runs a
downgrade in a transaction, so the downgrade rebuilds migration 2's expression index with a plain
CREATE INDEX before it drops the column: the schema is again the one migration 3 left.

The column is no field of the Tortoise model: the ORM must never write it (PostgreSQL refuses a
value for a generated column) and only raw SQL reads it, so the models' state is migration 3's.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = False

# The document searched; service/content/queries.py computes the same one when asked to.
DOCUMENT = "to_tsvector('english', title || ' ' || summary)"
DOCUMENT_INDEX = "idx_content_search_document"
# Migration 2's index on the expression, which the queries no longer use.
EXPRESSION_INDEX = "idx_content_search"


async def upgrade(db: BaseDBAsyncClient) -> str:
    await db.execute_script(
        'ALTER TABLE "content" ADD COLUMN IF NOT EXISTS "search_document" tsvector '
        f"GENERATED ALWAYS AS ({DOCUMENT}) STORED"
    )
    # An interrupted CONCURRENTLY build leaves an INVALID index behind; start afresh.
    await db.execute_script(f'DROP INDEX CONCURRENTLY IF EXISTS "{DOCUMENT_INDEX}"')
    await db.execute_script(
        f'CREATE INDEX CONCURRENTLY "{DOCUMENT_INDEX}" ON "content" USING GIN ("search_document")'
    )
    await db.execute_script(f'DROP INDEX CONCURRENTLY IF EXISTS "{EXPRESSION_INDEX}"')
    return "SELECT 1"


async def downgrade(db: BaseDBAsyncClient) -> str:
    return f"""
CREATE INDEX IF NOT EXISTS "{EXPRESSION_INDEX}" ON "content" USING GIN ({DOCUMENT});
DROP INDEX IF EXISTS "{DOCUMENT_INDEX}";
ALTER TABLE "content" DROP COLUMN IF EXISTS "search_document";"""


MODELS_STATE = (
    "eJztXelv2zgW/1cEf+oA3SB10iSbWSzgQ229dezAVjrFTAYCLdG2EIny6EhizOZ/H5K6JU"
    "qWfFVW+SUHyUdRv0c+vovU3y3DVKFun3VUQ0OiATR9qNmOhhatW+HvFgIGxH/kN3ovtMBq"
    "FTUhBQ6Y6ZQKkOYyJO1l3SOgDcDMdiygOLjNHOg2xEUqtBVLWzmaiQjlb0uIBAiUpdDp3w"
    "1GsnjXGQynAlBVC9q28AJsYa5ZtiOQbqF6KzhLKCwsgBzBImTQFkykrwWgKKaLHBvXA4c8"
    "WjUV/Gzv9Q7zlEcEX2lzYbYmBOi9gOAztHBTiMkWpM7CtWCOf78AS7VJw5elSRstTEdwTP"
    "qgYBh0CGdk8C7S/nKh7JgLiBtY+BX++BMXa0iFr9AO/l09yXMN6mqCgZQJpA9aJTvrFS3u"
    "LYH1iTYm2MxkxdRdAyUIVmtnaaKQAqNHShcQQQvgt4zxELm67rM+KPJGjAscy4XhUNWoQI"
    "Vz4OpkJhBqbxBRWUuWR2NJnoqSLLcysySgiLHUL1JMRGaYhnlCUTDAq6xDtHCW+N+L9vmb"
    "96AIC68ZeeK3zqT3pTN5h1v9Qh5p4onqzeaRX9X26t5oJ8ABXjcU/ghvyjTZmzeyN/WSyP"
    "cxeI5mQDb6DPIUH1Sf/iz4YxuuBAURW6L1eAS+FLBBGtyJU6lzd0+6N2z7L52C1pFEUtOm"
    "petU6burFMfCToTfBtIXgfwr/D4eiRRO03YWFn1i1E76vUXGBFzHlJH5IuMlGMMkKA6K3s"
    "hqmz/F+E8KZkB5IstaztSYbTOvbbbKaBvpEoDAgjKJoEnG6Uvle2gZmm174Gdkdqy2UFiv"
    "wnblZHQ+l3cQU5qaXSkD5LAXidc4tS7w3EqvBF/U1Fc8LcgQ/tX+cHl9eXNxdXmDm9Bhhi"
    "XXBStlMJI2yCL6u4LoD9o3TvJfXZYQ/FeXuXKfVBGoI2jjw6qAcIpsP0CXEeat1lGAbn/8"
    "WAJp3CoXalr3dkQJG/HUMnVoZ7l5B9BaMslPytMBfn2AFNZC8QXvBPdzcgvmLZiqQWn0fP"
    "pacmp3CV7Sgjp5xbA6tZvMTarqyk9wHUAse+I7ZJBfFRH6DZylZbqLZUiW6hm3wwOBjrfi"
    "OtNep0/3dzm9A7wV7qETOMfKwFIynyBzF03UF+6jltcSb3+4aUlzZ4xNA/xOLjYLfHKBkv"
    "/q/bIFy3TIqwhzyzSoIaGbCw0JNpYw2FDA3Rqavj7LGDh77HfPm/rDw6BfYVd3XU09IzSH"
    "WVCt/8xdpBBuCPRJ5Mflfw8lKwtEo2d6eHpsXEOlr168y1OOyktgL6vsREkqvuNv3PG9JS"
    "FXm9MJon1O7eye/wM2i60mcsw18brScO0WVnKSkhvItTOQ42x27a08ITGyPTDYXx2cv/vn"
    "rwWf8V6yDYuTlJzLdeayYkGwnUszSdlAYY3nMVDHSF/7M/BE2O4vlk2y26qo8sRIDqvw1G"
    "Upb9B4Mp6MJLpZaD+ZFtQW6Css62948Ls5TUhZHgcLvITmZHxCMW3+tx/jfKcOEJbDwHeM"
    "FDgKAj8Td7VzVzs3vFvc1f5DXe1xrDVbnrma7mgMqLsmllsA5ciJBGEK7BmmPBTaYclxN/"
    "3ueDxM6HDdgZTC+eGuK07efaDw40aat2sFooRr1j+fZv0jglrpeMxuoa1kTsFJbVNVA1zJ"
    "V02HuaJYYTLAlYlipcNcsQjYPgJcbJNtH6ze1qo4KSYHL1mWvTFbpBxjKUHY255ilnTUDN"
    "MjeJt80yOcHPUxPXhAcN8BQZ7yeYiUz9iWCmz7xcQrv2rMNUN4PKPkaIgfxCxRNXulg7Vc"
    "1cpO0zUQ7w/nZWY4bpWLN63LmIF4b9CeGWBvsgIjuiMagYGA4TYgtwFrbgMmVPWVuiXXk5"
    "Sc63XhOiOUGqrzJS3/eGA9nVCYEsU+/aevE2K+sB2dOWmMJzYd8uy6xHLCoC9NC68K3MyB"
    "iLGoqiDWizo5yayDYqw0FRorE7+gsiYG7I6zaxD19hVbww2dXytiMGsKlG2Y51CrAtq939"
    "0Ubu1QOwXUgKtqjmxBBRs+OyLWIV1NaE8NWpb8/EKdzi9E7tPSJxdiTsHdPH9RlCDX9Rfs"
    "SgzvX2zDyncAxrZG7gJsrgvQ1t1FFUdJ0L5xDsAPV6XcI1cF7pGrjHvE0Ry9kh8qJGigA6"
    "pdygHVLnBAtbMOKNs1DGCtK03hiKRxuR4fzst6+QrdfBmYZ6bKwFiCrznZYEH7BgBc5FAQ"
    "v0sJX0IA4ru7zvdfEv6E4Xj0OWgeA703HHdTUD/ht2RPZxG5RkYzS8Ae0NZZerSG4nQ6Ht"
    "0KWOGxTfSIxO/ipDeYircCfoqlaDZ8RP3JYDi8FVRL06kvuLo0LyXMC2R5egUoGLiFWU3S"
    "xGnqzJL6ZPBp87mm4CHnwLx5BSR7qDPora74eTAaiZNbYQYXGsJjekSDkSRO7sT+oCPh9Y"
    "Bhh5YBVQ0P9hF1+t86o57YvxWA+kxeXq3HylBdi5rjsqEh12EZlrlJwyzSzSnEp7BQ9pJF"
    "HFNzHOC4DGTLLYqI+oj7sWqBuVNxU271J51PEpH7mPYR3T90h4PpFzLlV+5M1+xlXeZ8OJ"
    "wtQjJpWn6crT4xGH6crfmhNx5w/Rm5nhdwzcYFKx5jTBDt4IA8HRm+/TlGD6ssuoc6yVhP"
    "TDceZExMqURAAI9AGD0Mh0VnGXkcsjID9hdac8BiH5E1CSxOzp9eNbDmv2M6rhbPyUhG1j"
    "C2OYE1nyYbWwsqArbsK7pGxs6IrPmvlB9VC8ZRn5AaP9DLD/TW1R3Iba986E9TC6/Tgcfc"
    "5L/Ku3X5DMB6rd+qO3bsPdO7dqj3JLfs5Mac3rajDX3XLXvzUbhU5iFj887mJubv46ysyM"
    "2XeEpL6H8uACD7BVrkHn8gYHp6+yaeELbzHv9BTqLgElxpQcxA8g2BOb3v38YDDhpmr/Lc"
    "e+8MTeOP8CoawsI/d1E8utriZ9E9/t1uX1xct88vrm4+Xl5ff7w5D5WQbFWRNtIdfCYKSU"
    "Iyb9ZQnmClqKXfvM6xs20zUA5x5MxfMZXP+KXpGoj3/jVCrGWs8BOhnBcQmxpA13PlCoO8"
    "SeHGi/b1VShZyD9FsmR61xkOs5HGECJ2ys//puPRBmxzcn9UTXGE/9MP5ZwgwgVAEkgSqn"
    "UmCyid8JPSmUkH6SwgbvrkT/ZmmT78FsVjRR/4LYplgg81vUUxHXxgfccoG58o+JgRKzZS"
    "H7csP+mw95MOp5dCFV2RUCWHqtOTBt/EW8GjfkS98d39UJRIFpViGiuyntVH1Ol2Rn28i5"
    "F0whlAqolqk1tlmYStlZX7ON3xtPrz+qv0yGRmZeZn74cEPH2/cvq+rWB9gqFl6CbIQTuk"
    "SKE9JyQl8K5nkgML8P74oTsUhfuJ2BtMB77VFOrftJIURfefTMTOMJsJa21nGCUpG2gYnY"
    "ghVCrtEmIIt2FynI4n1taZw2Huvw3xW7JO/G8+NhAj3WrHrxl7931qgGex5kN9mk6kMlms"
    "yZhrWbMyScVdSemlxD1z3DN3WEh398wxpMAeUN0hu+VEgE3KvgS2EyyNJ4OeVC7hGj5D8u"
    "gM5lWyrH3vpfjcLMx3TbEudA4nMGN4htOY5ruFfW+wHHGyPj5hnjFD6o6SMZN7B0NOyswJ"
    "3LtQmxwOgnoW3PzEgqD98fMJYmEP/5s19hl57I+IfPAsA24gJtptn2UQ7HHVzJkkFbdoii"
    "0aO4pB76h+N/fUXVoNT86wOiUfxO8TZaiXqetG87XLzBWnXLn8+ZRLoFT9QmFEwRXMEgqm"
    "Ayy8JjyQKqCcImsg1BftElBftAs+cZMDNUugbASaKVWaAPMBDkIuAVqwcjjyraYYCTec9m"
    "44BYc3qk38JNVWM79uEctkLlj7pkwyWPsmPxuM1HEblduoWOWpfhNPjIZfxFN8EQ+B6ngR"
    "t3pCuvkentiEqnwNz0HtUWhpyrLFMkW9mveFVmjUpjbm589iex7sGpJnaLEdTvnqSIykgV"
    "r4QQ77kkVVAWG/eQPRPcjXJHNzFgrMnIiEnzetaNAc79IVxmb29g+M7Pee"
)
